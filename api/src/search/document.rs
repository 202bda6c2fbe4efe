//! Search documents, built from the database in batches (one query per
//! table per batch, never per product).

use std::collections::HashMap;
use std::hash::Hasher;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DerivePartialModel, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use tantivy::schema::Value;
use tantivy::TantivyDocument;

use crate::catalog::{
    policy, quality_score, ProductStatus, QualityClass, QualityStatus, SlaTier, SubscriptionStatus, Visibility,
};
use crate::store::entities::{
    access_subscription, application, data_product, domain, product_tag, quality_check, quality_result, schema_version,
    team,
};

use super::analysis::{ident_words, joined, word_pairs, LABEL_END};
use super::fields::Fields;
use super::rank::boost;
use super::SearchError;

/// Everything the index knows about one product.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDoc {
    pub id: String,
    pub qualified_name: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub domain: String,
    pub owner: String,
    pub tags: Vec<String>,
    pub status: ProductStatus,
    pub visibility: Visibility,
    pub tier: Option<SlaTier>,
    pub quality_class: QualityClass,
    pub format: Option<String>,
    pub fields: Vec<IndexedField>,
    pub quality: Option<f64>,
    pub subscribers: u64,
    /// Reader keys: who may find the product (`policy::reader_keys`).
    pub readers: Vec<String>,
    /// The row's version.
    pub version: i32,
}

/// What the index takes of a schema field: its path and doc (the other
/// keys of the stored JSON are skipped, not decoded).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IndexedField {
    pub path: String,
    pub doc: Option<String>,
}

impl ProductDoc {
    /// The tantivy document, with its [`digest`](Self::digest).
    pub fn to_document(&self, f: &Fields) -> TantivyDocument {
        let mut doc = self.indexed(f);
        doc.add_u64(f.digest, digest(&doc));
        doc
    }

    /// A fingerprint of everything indexed about the product (what
    /// `verify` compares with the index): stable across processes of one
    /// build.
    pub fn digest(&self, f: &Fields) -> u64 {
        digest(&self.indexed(f))
    }

    /// Every indexed value, the digest aside.
    fn indexed(&self, f: &Fields) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &self.id);
        for exact in [&self.qualified_name, &self.name, &self.display_name] {
            doc.add_text(f.name_exact, exact.to_lowercase());
        }
        doc.add_text(f.name, format!("{}\n{}", self.qualified_name, self.display_name));
        for tag in &self.tags {
            doc.add_text(f.tags, tag);
            doc.add_text(f.tag, tag);
        }
        let paths: Vec<&str> = self.fields.iter().map(|x| x.path.as_str()).collect();
        doc.add_text(f.fields, paths.join("\n"));
        for field in &self.fields {
            let leaf = field
                .path
                .rsplit(['.', ']', '}'])
                .find(|s| !s.is_empty())
                .unwrap_or(&field.path);
            doc.add_text(f.field_names, leaf.to_lowercase());
            doc.add_text(f.field_joined, joined(leaf));
            for pair in word_pairs(&ident_words(&field.path)) {
                doc.add_text(f.field_pairs, pair);
            }
        }
        // `path: doc` per documented field, one per line (the docs'
        // analyzer indexes each line after its path: a doc's own line
        // breaks become spaces).
        let mut docs = String::new();
        for (path, text) in self.fields.iter().filter_map(|x| Some((&x.path, x.doc.as_ref()?))) {
            if !docs.is_empty() {
                docs.push('\n');
            }
            docs.push_str(path);
            docs.push_str(LABEL_END);
            for (i, line) in text.lines().enumerate() {
                if i > 0 {
                    docs.push(' ');
                }
                docs.push_str(line);
            }
        }
        doc.add_text(f.docs, docs);
        doc.add_text(f.domain_text, &self.domain);
        doc.add_text(f.owner_text, &self.owner);
        doc.add_text(f.owner_joined, joined(&self.owner));
        doc.add_text(f.description, &self.description);
        doc.add_text(f.qname, &self.qualified_name);
        doc.add_text(f.domain, &self.domain);
        doc.add_text(f.owner, &self.owner);
        doc.add_text(f.status, self.status.as_str());
        doc.add_text(f.visibility, self.visibility.as_str());
        for reader in &self.readers {
            doc.add_text(f.readers, reader);
        }
        if let Some(tier) = self.tier {
            doc.add_text(f.tier, tier.as_str());
        }
        doc.add_text(f.quality_class, self.quality_class.as_str());
        if let Some(format) = &self.format {
            doc.add_text(f.format, format);
        }
        doc.add_f64(f.quality, self.quality.unwrap_or(-1.0));
        doc.add_f64(f.boost, f64::from(boost(self.status, self.quality, self.subscribers)));
        doc.add_u64(f.version, u64::try_from(self.version).unwrap_or(0));
        doc
    }
}

/// FxHash of a document's fields and values, in order (a word at a time:
/// hashing the product's debug form byte by byte was a third of building
/// the documents).
pub(super) fn digest(doc: &TantivyDocument) -> u64 {
    let mut hash = rustc_hash::FxHasher::default();
    for (field, value) in doc.field_values() {
        hash.write_u32(field.field_id());
        if let Some(text) = value.as_str() {
            hash.write(text.as_bytes());
            hash.write_u8(0xff);
        } else if let Some(n) = value.as_u64() {
            hash.write_u64(n);
        } else if let Some(x) = value.as_f64() {
            hash.write_u64(x.to_bits());
        }
    }
    hash.finish()
}

/// The columns of a product its document uses (a product's contacts, SLA
/// figures and topic settings are not read).
#[derive(Debug, DerivePartialModel)]
#[sea_orm(entity = "data_product::Entity")]
struct ProductRow {
    id: String,
    qualified_name: String,
    name: String,
    display_name: String,
    description: String,
    domain_id: String,
    owner_team_id: String,
    status: ProductStatus,
    visibility: Visibility,
    sla_tier: Option<SlaTier>,
    quality_class: QualityClass,
    version: i32,
}

/// Ids of every product, in a stable order.
pub async fn all_product_ids(db: &DatabaseConnection) -> Result<Vec<String>, SearchError> {
    Ok(data_product::Entity::find()
        .select_only()
        .column(data_product::Column::Id)
        .order_by_asc(data_product::Column::Id)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

/// Which products to load.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// These ids (missing ones are skipped).
    Ids(&'a [String]),
    /// Every product whose id sorts between these two, both included, in
    /// the database's order: a chunk of [`all_product_ids`], read without
    /// binding its ids (a rebuild's queries then skip building and binding
    /// a thousand-value `IN` list per table).
    Range(&'a str, &'a str),
}

impl Scope<'_> {
    /// The condition on `column` (a product id).
    fn on(self, column: impl ColumnTrait) -> Expr {
        match self {
            Scope::Ids(ids) => column.is_in(ids.iter().cloned()),
            Scope::Range(first, last) => column.between(first, last),
        }
    }
}

/// Loads the documents of `ids` (missing ids are skipped).
pub async fn load(db: &DatabaseConnection, ids: &[String]) -> Result<Vec<ProductDoc>, SearchError> {
    load_scope(db, Scope::Ids(ids)).await
}

/// Loads the documents of the products in `scope`.
pub async fn load_scope(db: &DatabaseConnection, scope: Scope<'_>) -> Result<Vec<ProductDoc>, SearchError> {
    let products = data_product::Entity::find()
        .filter(scope.on(data_product::Column::Id))
        .into_partial_model::<ProductRow>()
        .all(db)
        .await?;
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
    // The related rows of the products read: by range when the products
    // were (rows of products created since are never looked up), else by id.
    let scope = match scope {
        Scope::Range(..) => scope,
        Scope::Ids(_) => Scope::Ids(&ids),
    };
    let distinct = |mut v: Vec<String>| {
        v.sort_unstable();
        v.dedup();
        v
    };
    let domain_ids = distinct(products.iter().map(|p| p.domain_id.clone()).collect());
    let team_ids = distinct(products.iter().map(|p| p.owner_team_id.clone()).collect());
    // Only the columns the documents use (a schema version's definition
    // and canonical text, the largest values of the catalog, are not read).
    let domains: HashMap<String, (String, String)> = domain::Entity::find()
        .select_only()
        .column(domain::Column::Id)
        .column(domain::Column::Name)
        .column(domain::Column::OwnerTeamId)
        .filter(domain::Column::Id.is_in(domain_ids))
        .into_tuple::<(String, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, name, owner)| (id, (name, owner)))
        .collect();
    let teams: HashMap<String, String> = team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .column(team::Column::Name)
        .filter(team::Column::Id.is_in(team_ids))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    for (product, tag) in product_tag::Entity::find()
        .select_only()
        .column(product_tag::Column::ProductId)
        .column(product_tag::Column::Tag)
        .filter(scope.on(product_tag::Column::ProductId))
        .order_by_asc(product_tag::Column::ProductId)
        .order_by_asc(product_tag::Column::Tag)
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
    {
        tags.entry(product).or_default().push(tag);
    }
    // The latest schema version of each product (its fields only).
    let mut latest: HashMap<String, (String, String)> = schema_version::Entity::find()
        .select_only()
        .column(schema_version::Column::ProductId)
        .column(schema_version::Column::Format)
        .column(schema_version::Column::Fields)
        .filter(schema_version::latest_of(scope.on(schema_version::Column::ProductId)))
        .into_tuple::<(String, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(product, format, fields)| (product, (format, fields)))
        .collect();
    // The latest result of each check of the products.
    let mut statuses: HashMap<String, Vec<QualityStatus>> = HashMap::new();
    for (product, status) in quality_result::Entity::find()
        .select_only()
        .column(quality_result::Column::ProductId)
        .column(quality_result::Column::Status)
        .filter(quality_result::latest_of(scope.on(quality_check::Column::ProductId)))
        .into_tuple::<(String, QualityStatus)>()
        .all(db)
        .await?
    {
        statuses.entry(product).or_default().push(status);
    }
    let subscribers: HashMap<String, i64> = access_subscription::Entity::find()
        .select_only()
        .column(access_subscription::Column::ProductId)
        .column_as(Expr::col(access_subscription::Column::Id).count(), "n")
        .filter(scope.on(access_subscription::Column::ProductId))
        .filter(access_subscription::Column::Status.eq(SubscriptionStatus::Approved))
        .group_by(access_subscription::Column::ProductId)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();

    let readers = subscriber_teams(db, scope).await?;
    products
        .into_iter()
        .map(|p| {
            let domain = domains.get(&p.domain_id);
            let subscriber_teams = readers.get(&p.id).map(Vec::as_slice).unwrap_or_default();
            let domain_team = domain.map(|(_, owner)| owner.as_str());
            let keys = policy::reader_keys(&p.owner_team_id, p.visibility, domain_team, subscriber_teams);
            let schema = latest.remove(&p.id);
            let fields: Vec<IndexedField> = match &schema {
                Some((_, fields)) => serde_json::from_str(fields)?,
                None => Vec::new(),
            };
            Ok(ProductDoc {
                qualified_name: p.qualified_name,
                name: p.name,
                display_name: p.display_name,
                description: p.description,
                domain: domain.map(|(name, _)| name.clone()).unwrap_or_default(),
                readers: keys,
                owner: teams.get(&p.owner_team_id).cloned().unwrap_or_default(),
                tags: tags.remove(&p.id).unwrap_or_default(),
                status: p.status,
                visibility: p.visibility,
                tier: p.sla_tier,
                quality_class: p.quality_class,
                format: schema.map(|(format, _)| format),
                fields,
                quality: statuses.get(&p.id).and_then(|s| quality_score(s)),
                subscribers: u64::try_from(subscribers.get(&p.id).copied().unwrap_or(0)).unwrap_or(0),
                version: p.version,
                id: p.id,
            })
        })
        .collect()
}

/// Owner teams of the applications holding an APPROVED subscription, per
/// product: they may find the product even when it is private.
async fn subscriber_teams(
    db: &DatabaseConnection,
    scope: Scope<'_>,
) -> Result<HashMap<String, Vec<String>>, SearchError> {
    let approved: Vec<(String, String)> = access_subscription::Entity::find()
        .select_only()
        .column(access_subscription::Column::ProductId)
        .column(access_subscription::Column::ApplicationId)
        .filter(scope.on(access_subscription::Column::ProductId))
        .filter(access_subscription::Column::Status.eq(SubscriptionStatus::Approved))
        .into_tuple()
        .all(db)
        .await?;
    let app_ids: Vec<String> = approved.iter().map(|(_, a)| a.clone()).collect();
    let owners: HashMap<String, String> = application::Entity::find()
        .select_only()
        .column(application::Column::Id)
        .column(application::Column::OwnerTeamId)
        .filter(application::Column::Id.is_in(app_ids))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut teams: HashMap<String, Vec<String>> = HashMap::new();
    for (product, app) in approved {
        if let Some(team) = owners.get(&app) {
            teams.entry(product).or_default().push(team.clone());
        }
    }
    Ok(teams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::SchemaField;

    #[test]
    fn the_digest_follows_what_is_indexed() {
        let doc = ProductDoc {
            id: "p1".into(),
            qualified_name: "orders.order-events".into(),
            name: "order-events".into(),
            display_name: "Order Events".into(),
            description: "Every order, as placed".into(),
            domain: "orders".into(),
            owner: "orders-team".into(),
            tags: vec!["pii".into(), "gold".into()],
            status: ProductStatus::Published,
            visibility: Visibility::Public,
            tier: Some(SlaTier::Gold),
            quality_class: QualityClass::Curated,
            format: Some("AVRO".into()),
            fields: vec![IndexedField {
                path: "lines[].sku".into(),
                doc: Some("The SKU".into()),
            }],
            quality: Some(97.5),
            subscribers: 3,
            readers: vec!["public".into(), "team:t1".into()],
            version: 2,
        };
        let (_, f) = super::super::fields::schema();
        let stored = doc.to_document(&f).get_first(f.digest).and_then(|v| v.as_u64());
        assert_eq!(stored, Some(doc.digest(&f)), "the document carries its digest");
        assert_eq!(
            doc.clone().digest(&f),
            doc.digest(&f),
            "the same product, the same digest"
        );
        let changed = [
            ProductDoc {
                description: "Every order, as shipped".into(),
                ..doc.clone()
            },
            ProductDoc {
                readers: vec!["public".into()],
                ..doc.clone()
            },
            ProductDoc {
                quality: Some(97.0),
                ..doc.clone()
            },
            ProductDoc {
                subscribers: 4,
                ..doc.clone()
            },
            ProductDoc {
                version: 3,
                ..doc.clone()
            },
            ProductDoc {
                tags: vec!["gold".into(), "pii".into()],
                ..doc.clone()
            },
        ];
        for other in &changed {
            assert_ne!(other.digest(&f), doc.digest(&f), "{other:?}");
        }
    }

    #[test]
    fn field_docs_are_one_line_each() {
        let (_, f) = super::super::fields::schema();
        let field = |path: &str, doc: &str| IndexedField {
            path: path.into(),
            doc: Some(doc.into()),
        };
        let doc = ProductDoc {
            id: "p1".into(),
            qualified_name: "orders.order-events".into(),
            name: "order-events".into(),
            display_name: "Order Events".into(),
            description: String::new(),
            domain: "orders".into(),
            owner: "orders-team".into(),
            tags: Vec::new(),
            status: ProductStatus::Published,
            visibility: Visibility::Public,
            tier: None,
            quality_class: QualityClass::Raw,
            format: None,
            fields: vec![
                field("sku", "The SKU.\r\nNote: upper case"),
                IndexedField {
                    path: "id".into(),
                    doc: None,
                },
                field("qty", "How many"),
            ],
            quality: None,
            subscribers: 0,
            readers: vec!["public".into()],
            version: 1,
        };
        let docs = doc.to_document(&f);
        let docs = docs.get_first(f.docs).and_then(|v| v.as_str());
        assert_eq!(docs, Some("sku: The SKU. Note: upper case\nqty: How many"));
    }

    #[test]
    fn a_stored_field_list_decodes_to_paths_and_docs() {
        let stored = serde_json::to_string(&[
            SchemaField {
                path: "lines[].sku".into(),
                type_name: "string".into(),
                doc: Some("The SKU".into()),
                nullable: false,
                required: true,
                default: Some(serde_json::json!({ "nested": ["x"] })),
                tags: vec!["pii".into()],
            },
            SchemaField {
                path: "id".into(),
                type_name: "long".into(),
                doc: None,
                nullable: false,
                required: true,
                default: None,
                tags: Vec::new(),
            },
        ])
        .unwrap();
        let fields: Vec<IndexedField> = serde_json::from_str(&stored).unwrap();
        assert_eq!(
            fields,
            [
                IndexedField {
                    path: "lines[].sku".into(),
                    doc: Some("The SKU".into())
                },
                IndexedField {
                    path: "id".into(),
                    doc: None
                },
            ]
        );
    }
}
