//! Ranking classes over a small hand-made catalog, in memory: the cases
//! a judged query set found weak (exact names with a typo, owner teams,
//! exact field names, versions, name prefixes), and the bounded totals.

use super::document::IndexedField;
use super::query::Unions;
use super::*;
use crate::catalog::policy::PUBLIC_READER;
use crate::catalog::{ProductStatus, QualityClass, Visibility};

struct Product {
    name: &'static str,
    owner: &'static str,
    description: &'static str,
    fields: &'static [&'static str],
    status: ProductStatus,
    quality: f64,
    subscribers: u64,
}

fn product(
    name: &'static str,
    owner: &'static str,
    description: &'static str,
    fields: &'static [&'static str],
) -> Product {
    Product {
        name,
        owner,
        description,
        fields,
        status: ProductStatus::Published,
        quality: 80.0,
        subscribers: 1,
    }
}

fn doc(i: usize, p: &Product) -> ProductDoc {
    let (domain, name) = p.name.split_once('.').unwrap();
    ProductDoc {
        id: format!("p{i}"),
        qualified_name: p.name.to_owned(),
        name: name.to_owned(),
        display_name: name.replace('-', " "),
        description: p.description.to_owned(),
        domain: domain.to_owned(),
        owner: p.owner.to_owned(),
        tags: Vec::new(),
        status: p.status,
        visibility: Visibility::Public,
        tier: None,
        quality_class: QualityClass::Curated,
        format: Some("AVRO".to_owned()),
        fields: p
            .fields
            .iter()
            .map(|path| IndexedField {
                path: (*path).to_owned(),
                doc: None,
            })
            .collect(),
        quality: Some(p.quality),
        subscribers: p.subscribers,
        readers: vec![PUBLIC_READER.to_owned()],
        version: 1,
    }
}

fn catalog() -> Vec<Product> {
    let mut products = vec![
        product(
            "inventory.stock-levels",
            "inventory-team",
            "Stock on hand per warehouse and item.",
            &["warehouse_id", "sku", "on_hand"],
        ),
        Product {
            quality: 98.0,
            subscribers: 40,
            ..product(
                "inventory.stock-levels-hourly-eu",
                "inventory-team",
                "Hourly stock levels of the EU warehouses, stock level snapshots.",
                &["warehouse_id", "sku", "on_hand", "hour"],
            )
        },
        product(
            "payments.card-authorizations",
            "payments-team",
            "Card authorization requests and outcomes.",
            &["authorization_id", "amount", "currency"],
        ),
        product(
            "payments.settlements",
            "payments-team",
            "Daily settlement batches with the acquirer.",
            &["settlement_id", "amount"],
        ),
        Product {
            subscribers: 30,
            ..product(
                "finance.payments-reconciliation",
                "finance-team",
                "Reconciles payments with the ledger; the payments team and finance team review it. Team payments.",
                &["payment_id", "team_id"],
            )
        },
        Product {
            subscribers: 25,
            ..product(
                "orders.order-payments",
                "orders-team",
                "Payments of each order, from the payments team's events.",
                &["order_id", "payment_id"],
            )
        },
        product(
            "returns.return-requests",
            "returns-team",
            "Customers asking to send goods back.",
            &["return_id", "shipment_id", "reason"],
        ),
        Product {
            subscribers: 50,
            quality: 99.0,
            ..product(
                "warehouse.dispatches",
                "warehouse-team",
                "Parcels leaving the warehouse with their shipment and order.",
                &[
                    "dispatch_id",
                    "shipment_type",
                    "order_id",
                    "shipment_ref_id",
                    "shipment_ids",
                ],
            )
        },
        product(
            "logistics.shipments",
            "logistics-team",
            "Shipments handed to carriers.",
            &["shipment_id", "carrier"],
        ),
        product(
            "orders.order-events",
            "orders-team",
            "Every change of an order, version 2.",
            &["order_id", "status"],
        ),
        Product {
            status: ProductStatus::Deprecated,
            ..product(
                "orders.order-events-v1",
                "orders-team",
                "Every change of an order (first version).",
                &["order_id", "status"],
            )
        },
        Product {
            subscribers: 60,
            quality: 99.0,
            ..product(
                "marketing.campaign-events",
                "marketing-team",
                "Campaign events: clicks that lead to an order, order attribution events.",
                &["campaign_id", "order_id", "event_type"],
            )
        },
        Product {
            subscribers: 60,
            ..product(
                "analytics.order-volume",
                "analytics-team",
                "Order events counted per hour.",
                &["hour", "orders"],
            )
        },
        Product {
            subscribers: 80,
            quality: 99.0,
            ..product(
                "logistics.ship-modes",
                "logistics-team",
                "Ship modes and their shipment service levels.",
                &["ship_mode", "shipment_sla"],
            )
        },
    ];
    // Filler, so that word statistics look like a catalog's.
    const WORDS: [&str; 12] = [
        "customer", "invoice", "price", "catalog", "session", "click", "device", "region", "tax", "refund", "loyalty",
        "campaign",
    ];
    for i in 0..120 {
        let (a, b) = (WORDS[i % 12], WORDS[(i / 12) % 12]);
        let name: &'static str = Box::leak(format!("filler.{a}-{b}-{i}").into_boxed_str());
        let description: &'static str =
            Box::leak(format!("The {a} and {b} feed number {i}, with team data.").into_boxed_str());
        let fields: &'static [&'static str] =
            Box::leak(vec![&*Box::leak(format!("{a}_id").into_boxed_str()), "id"].into_boxed_slice());
        products.push(product(name, "filler-team", description, fields));
    }
    products
}

fn index(products: &[Product]) -> SearchIndex {
    let (index, _) = SearchIndex::open(&IndexLocation::Memory).unwrap();
    let f = index.inner.fields;
    let mut writer: tantivy::IndexWriter = index.inner.index.writer(15_000_000).unwrap();
    for (i, p) in products.iter().enumerate() {
        writer.add_document(doc(i, p).to_document(&f)).unwrap();
    }
    writer.commit().unwrap();
    index.reload().unwrap();
    index
}

/// A page of `first` hits for `query`, as an admin, without highlights.
fn page(index: &SearchIndex, query: &str, first: usize, facets: bool) -> SearchPage {
    let extras = Extras {
        facets,
        highlights: Highlights::None,
    };
    index
        .search(query, &SearchFilters::default(), &Audience::All, first, None, extras)
        .unwrap()
}

fn names(index: &SearchIndex, query: &str) -> Vec<String> {
    page(index, query, 10, false)
        .hits
        .into_iter()
        .map(|h| h.qualified_name)
        .collect()
}

fn rank(hits: &[String], name: &str) -> usize {
    hits.iter().position(|h| h == name).unwrap_or(usize::MAX)
}

#[test]
fn ranking_classes() {
    let index = index(&catalog());
    let mut failures = Vec::new();
    let mut check = |query: &str, ok: &dyn Fn(&[String]) -> bool| {
        let hits = names(&index, query);
        if !ok(&hits) {
            failures.push(format!("`{query}`: {:?}", &hits[..hits.len().min(5)]));
        }
    };
    // An exact name with a typo ranks above longer names containing it.
    for q in ["stok levels", "stock levls", "stock-levels"] {
        check(q, &|h| h.first().map(String::as_str) == Some("inventory.stock-levels"));
    }
    // An owner team's name brings that team's products to the top.
    for q in ["payments-team", "payments team"] {
        check(q, &|h| {
            rank(h, "payments.card-authorizations") < 2 && rank(h, "payments.settlements") < 2
        });
    }
    // A field name: products with that field above products with similar ones.
    for q in ["shipment_id", "shipmentId", "shipment id"] {
        check(q, &|h| {
            rank(h, "returns.return-requests") < 2
                && rank(h, "logistics.shipments") < 2
                && rank(h, "warehouse.dispatches") > 1
        });
    }
    // A published v2 before its deprecated v1, both before unrelated products.
    for q in ["order events", "order-events"] {
        check(q, &|h| {
            rank(h, "orders.order-events") == 0 && rank(h, "orders.order-events-v1") == 1
        });
    }
    // A 5–6-letter prefix reaches the products whose names start with it.
    for q in ["shipm", "shipme"] {
        check(q, &|h| h.first().map(String::as_str) == Some("logistics.shipments"));
    }
    assert!(
        failures.is_empty(),
        "{} ranking cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_query_of_only_overlong_words_matches_nothing_where_one_without_words_lists() {
    let index = index(&catalog());
    let all = catalog().len();
    let long = "x".repeat(65);
    for query in ["", "*", " - "] {
        assert_eq!(page(&index, query, 10, true).total, all, "`{query}` lists");
    }
    for query in [long.clone(), format!("{long} {long}"), format!("\"{long}\"")] {
        let found = page(&index, &query, 10, true);
        assert_eq!((found.total, found.hits.len()), (0, 0), "`{query}`");
        assert_eq!(found.facets, Facets::default());
    }
    // Next to a word that can match, an over-long word is left out.
    let mut with_long = names(&index, &format!("stock levels {long}"));
    let mut without = names(&index, "stock levels");
    with_long.sort();
    without.sort();
    assert!(!without.is_empty());
    assert_eq!(with_long, without);
    // 64 bytes is still a word, and matches nothing here.
    assert_eq!(page(&index, &"x".repeat(64), 10, false).total, 0);
}

#[test]
fn totals_are_exact_up_to_the_bound_and_pruning_keeps_the_ranking() {
    // More matches than the bound: every product has the word.
    let products: Vec<Product> = (0..TRACK_TOTAL + 500)
        .map(|i| Product {
            quality: (i % 100) as f64,
            subscribers: (i % 37) as u64,
            ..product(
                Box::leak(format!("bulk.item-{i}").into_boxed_str()),
                "bulk-team",
                Box::leak(format!("common word {}", "filler ".repeat(i % 7)).into_boxed_str()),
                &["id"],
            )
        })
        .collect();
    let index = index(&products);
    let pruned = page(&index, "common", 20, false);
    assert_eq!(pruned.total, TRACK_TOTAL);
    assert!(!pruned.total_exact);
    assert!(pruned.has_next_page);
    // Counting facets visits every match: exact total, same ranking.
    let full = page(&index, "common", 20, true);
    assert_eq!(full.total, TRACK_TOTAL + 500);
    assert!(full.total_exact);
    let order = |page: &SearchPage| {
        page.hits
            .iter()
            .map(|h| (h.qualified_name.clone(), h.score))
            .collect::<Vec<_>>()
    };
    assert_eq!(order(&pruned), order(&full));
    // Not counted at all: the word's term in the descriptions alone has
    // more allowed documents than the bound.
    let count = |index: &SearchIndex| {
        let searcher = index.searcher();
        let allowed = index
            .allowed(&searcher, &SearchFilters::default(), &Audience::All)
            .unwrap();
        let mut words = QueryWords::parse("common");
        words.known = index.known(&searcher, &words, &allowed).unwrap();
        index.word_count(&searcher, &words, &allowed).unwrap()
    };
    assert_eq!(count(&index), rank::Count::Beyond);
    // A misspelt word: counted by the ranking pass (not apart), same
    // bound, same ranking.
    let typo = page(&index, "commom", 20, false);
    assert_eq!((typo.total, typo.total_exact), (TRACK_TOTAL, false));
    assert_eq!(order(&typo), order(&page(&index, "commom", 20, true)));
    // Under the bound: exact, counted apart or with the ranking.
    for query in ["item-7", "itme-7"] {
        let few = page(&index, query, 20, false);
        let full = page(&index, query, 20, true);
        assert!(few.total_exact, "{query}");
        assert!(few.total > 0 && few.total < TRACK_TOTAL, "{query}");
        assert_eq!(few.total, full.total, "{query}");
        assert_eq!(order(&few), order(&full), "{query}");
    }
    // Past the bound by its term's document frequency, which counts
    // deleted documents, but not in live ones: counted apart, exact.
    let f = index.inner.fields;
    let mut writer: tantivy::IndexWriter = index.inner.index.writer(15_000_000).unwrap();
    for i in 0..1_000 {
        writer.delete_term(Term::from_field_text(f.id, &format!("p{i}")));
    }
    writer.commit().unwrap();
    index.reload().unwrap();
    assert_eq!(count(&index), rank::Count::Apart);
    let live = page(&index, "common", 20, false);
    assert_eq!((live.total, live.total_exact), (TRACK_TOTAL - 500, true));
    assert_eq!(order(&live), order(&page(&index, "common", 20, true)));
}

#[test]
fn a_rebuild_s_segments_merge_into_one_that_searches_the_same() {
    let (index, _) = SearchIndex::open(&IndexLocation::Memory).unwrap();
    let mut writer = super::indexer::bulk_writer(&index.inner.index).unwrap();
    // As a rebuild writes: no merges while it does.
    writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
    let f = index.inner.fields;
    for (i, p) in catalog().iter().enumerate() {
        writer.add_document(doc(i, p).to_document(&f)).unwrap();
        if i % 4 == 3 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    index.reload().unwrap();
    assert!(index.segments() >= 3);
    let queries = ["", "orders", "ordr", "paym", "customer id", "payments-team"];
    let before: Vec<_> = queries.iter().map(|q| page(&index, q, 20, true)).collect();

    super::indexer::merge_into_one(&mut writer, &index.inner.index).unwrap();
    writer.wait_merging_threads().unwrap();
    index.reload().unwrap();
    assert_eq!((index.segments(), index.len()), (1, catalog().len() as u64));
    for (query, before) in queries.iter().zip(before) {
        let after = page(&index, query, 20, true);
        let names = |p: &SearchPage| p.hits.iter().map(|h| h.product_id.clone()).collect::<Vec<_>>();
        assert_eq!((names(&after), after.total), (names(&before), before.total), "{query}");
    }
}

#[test]
fn a_commit_of_changed_products_writes_one_segment() {
    let (index, _) = SearchIndex::open(&IndexLocation::Memory).unwrap();
    let mut writer = super::indexer::bulk_writer(&index.inner.index).unwrap();
    let mut docs: Vec<ProductDoc> = catalog().iter().enumerate().map(|(i, p)| doc(i, p)).collect();
    let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    let f = &index.inner.fields;
    let written = super::indexer::replace(&writer, &index.searcher(), f, &ids, &docs).unwrap();
    assert_eq!(written, 2 * docs.len(), "a delete and an add each");
    writer.commit().unwrap();
    index.reload().unwrap();
    assert_eq!((index.segments(), index.len()), (1, docs.len() as u64));

    // Replaced again unchanged: nothing is written.
    let written = super::indexer::replace(&writer, &index.searcher(), f, &ids, &docs).unwrap();
    assert_eq!(written, 0);

    // Three of them changed: one more segment, no duplicates.
    for doc in &mut docs[..3] {
        doc.description.push_str(" Now with zephyrine.");
    }
    let written = super::indexer::replace(&writer, &index.searcher(), f, &ids, &docs).unwrap();
    assert_eq!(written, 6);
    writer.commit().unwrap();
    index.reload().unwrap();
    assert_eq!((index.segments(), index.len()), (2, docs.len() as u64));
    assert_eq!(page(&index, "zephyrine", 20, false).total, 3);

    // A product no longer in the database is deleted.
    let written = super::indexer::replace(&writer, &index.searcher(), f, &ids[..1], &[]).unwrap();
    assert_eq!(written, 1);
    writer.commit().unwrap();
    index.reload().unwrap();
    assert_eq!(index.len(), docs.len() as u64 - 1);
}

#[test]
fn a_selective_filter_ranks_as_the_unfiltered_search_does() {
    // 8 domains: one of them is an eighth of the catalog, so a filter on it
    // is intersected with the text query instead of checked per match.
    const WORDS: [&str; 6] = ["customer", "invoice", "region", "device", "refund", "session"];
    let products: Vec<Product> = (0..480)
        .map(|i| {
            let (a, b) = (WORDS[i % 6], WORDS[(i / 6) % 6]);
            Product {
                quality: (i % 100) as f64,
                subscribers: (i % 13) as u64,
                ..product(
                    Box::leak(format!("d{}.{a}-{b}-{i}", i % 8).into_boxed_str()),
                    "data-team",
                    Box::leak(format!("The {a} feed of {b} events, number {i}.").into_boxed_str()),
                    Box::leak(
                        vec![
                            &*Box::leak(format!("{a}_{b}_id").into_boxed_str()),
                            &*Box::leak(format!("{b}Region").into_boxed_str()),
                        ]
                        .into_boxed_slice(),
                    ),
                )
            }
        })
        .collect();
    let index = index(&products);
    let ranking = Extras {
        facets: false,
        highlights: Highlights::None,
    };
    let in_d3 = SearchFilters {
        domains: vec!["d3".to_owned()],
        ..Default::default()
    };
    let searcher = index.searcher();
    let filter = Filter {
        filters: &in_d3,
        audience: &Audience::All,
    };
    let allowed = index
        .inner
        .filters
        .allowed(&searcher, &index.inner.fields, filter)
        .unwrap();
    assert!(allowed.is_selective());
    for query in [
        "customer",
        "invoice refund",
        "customer_region_id",
        "refundRegion",
        "custmer",
        "devi",
    ] {
        let hits = |filters: &SearchFilters| {
            index
                .search(query, filters, &Audience::All, 100, None, ranking)
                .unwrap()
                .hits
                .into_iter()
                .map(|h| (h.qualified_name, h.score))
                .collect::<Vec<_>>()
        };
        let everywhere: Vec<_> = hits(&SearchFilters::default())
            .into_iter()
            .filter(|(name, _)| name.starts_with("d3."))
            .collect();
        let filtered = hits(&in_d3);
        assert!(!filtered.is_empty(), "{query}");
        // Every match of the domain is within the unfiltered first 100 for
        // these queries only if there are few enough; compare what both hold.
        let n = filtered.len().min(everywhere.len());
        assert_eq!(filtered[..n], everywhere[..n], "{query}");
    }
}

#[test]
fn words_in_sequence_rank_the_field_path_that_has_them_in_that_order() {
    let mut products = catalog();
    // The devices' fields hold both words in fewer tokens (BM25 favours
    // them), but only the sessions' hold them in sequence.
    let sessions: &[&str] = &["clientIpAddress", "session_start_time", "user_agent_string"];
    products.push(product("net.sessions", "net-team", "Client sessions.", sessions));
    products.push(product(
        "net.devices",
        "net-team",
        "Known devices.",
        &["ip_version", "mac_address"],
    ));
    let index = index(&products);
    let hits = names(&index, "ip address");
    assert_eq!(hits.first().map(String::as_str), Some("net.sessions"), "{hits:?}");
    // Never across two paths: `version mac` is the end of one of the
    // devices' paths and the start of the next.
    let score = |q: &str, name: &str| {
        page(&index, q, 10, false)
            .hits
            .into_iter()
            .find(|h| h.qualified_name == name)
            .map(|h| h.score)
    };
    assert!(score("version mac", "net.devices") < score("ip version", "net.devices"));
}

#[test]
fn a_ranking_split_over_two_threads_or_with_unions_only_sought_is_the_ranking_of_one() {
    // Three segments, and more matches than the bound for the common word.
    let (index, _) = SearchIndex::open(&IndexLocation::Memory).unwrap();
    let f = index.inner.fields;
    let mut writer: tantivy::IndexWriter = index.inner.index.writer_with_num_threads(1, 15_000_000).unwrap();
    for i in 0..TRACK_TOTAL + 2_000 {
        let p = Product {
            quality: (i % 100) as f64,
            subscribers: (i % 37) as u64,
            ..product(
                Box::leak(format!("bulk.item-{i}").into_boxed_str()),
                ["bulk-team", "retail-team", "ops-team"][i % 3],
                Box::leak(format!("common word {}", "filler ".repeat(i % 7)).into_boxed_str()),
                &["id", "item_id", "region"][..1 + i % 3],
            )
        };
        writer.add_document(doc(i, &p).to_document(&f)).unwrap();
        if i % 4_000 == 3_999 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    index.reload().unwrap();
    assert!(index.segments() >= 3);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let searcher = index.searcher();
    let filters = [
        SearchFilters::default(),
        SearchFilters {
            owners: vec!["ops-team".to_owned()],
            ..SearchFilters::default()
        },
        SearchFilters {
            owners: vec!["ops-team".to_owned()],
            min_quality: Some(50.0),
            ..SearchFilters::default()
        },
    ];
    for (i, filters) in filters.iter().enumerate() {
        let allowed = index.allowed(&searcher, filters, &Audience::All).unwrap();
        assert_eq!(allowed.is_selective(), i == 2);
        for text in [
            "commom",
            "item 7",
            "commn word",
            "common filler",
            "bulk reg",
            "item_id region",
            "word 12",
            "common",
        ] {
            let mut words = QueryWords::parse(text);
            words.known = index.known(&searcher, &words, &allowed).unwrap();
            let clauses = super::query::Clauses::of(&f, &words).unwrap();
            let build = |all_words, unions| super::query::build(&f, &words, &clauses, all_words, unions);
            // Unions only sought give the ranking of unions walked.
            for all_words in [true, false] {
                for count in [rank::Count::Ranking, rank::Count::None] {
                    let walked = build(all_words, Unions::Walked);
                    let sought = build(all_words, Unions::Sought);
                    let walked = rank::top_k(&searcher, &*walked, &allowed, 25, count, None).unwrap();
                    let sought = rank::top_k(&searcher, &*sought, &allowed, 25, count, None).unwrap();
                    assert_eq!(walked.top, sought.top, "{text} {all_words} {count:?} {filters:?}");
                    assert_eq!(
                        (walked.total, walked.exact),
                        (sought.total, sought.exact),
                        "{text} {filters:?}"
                    );
                }
            }
            for count in [rank::Count::Ranking, rank::Count::None, rank::Count::Facets] {
                let query = build(true, rank::unions(&allowed, count));
                let one = rank::top_k(&searcher, &*query, &allowed, 25, count, None).unwrap();
                let two = rank::top_k(&searcher, &*query, &allowed, 25, count, Some(&pool)).unwrap();
                assert!(!one.top.is_empty() || !filters.owners.is_empty(), "{text}");
                assert_eq!(one.top, two.top, "{text} {count:?} {filters:?}");
                if count != rank::Count::None {
                    assert_eq!((one.total, one.exact), (two.total, two.exact), "{text} {filters:?}");
                }
                assert_eq!(one.facets, two.facets, "{text} {count:?} {filters:?}");
                if count == rank::Count::Facets {
                    let domains: u64 = one.facets.domains.iter().map(|(_, n)| n).sum();
                    assert_eq!(domains, one.total as u64, "{text} {filters:?}");
                }
            }
        }
    }
}

/// A hit's matched fields are where the search's clauses match it, as
/// tantivy itself matches them (each shown field's clauses as one query,
/// sought at the hit), over two segments, for every kind of clause: exact
/// words, stems, typos, prefixes, an owner team's or a field's name typed
/// as one word, several words and the any-word fallback.
#[test]
fn matched_fields_are_where_the_query_matched_each_hit() {
    use tantivy::query::{EnableScoring, Query as _};
    let products = catalog();
    let (index, _) = SearchIndex::open(&IndexLocation::Memory).unwrap();
    let f = index.inner.fields;
    let mut writer: tantivy::IndexWriter = index.inner.index.writer(15_000_000).unwrap();
    for half in products.chunks(products.len() / 2 + 1) {
        for (i, p) in half.iter().enumerate() {
            let id = products.iter().position(|q| q.name == p.name).unwrap_or(i);
            writer.add_document(doc(id, p).to_document(&f)).unwrap();
        }
        writer.commit().unwrap();
    }
    index.reload().unwrap();
    let searcher = index.searcher();
    assert_eq!(searcher.segment_readers().len(), 2);
    let extras = Extras {
        facets: false,
        highlights: Highlights::Fields,
    };
    let mut seen = std::collections::BTreeSet::new();
    for text in [
        "stock",
        "stok levels",
        "warehouses",
        "ledger",
        "payments-team",
        "paymentsteam",
        "shipment_id",
        "shipmentId",
        "shipm",
        "ord",
        "order events",
        "hourly zzzz",
        "refnd custmer",
    ] {
        let mut words = QueryWords::parse(text);
        let allowed = index
            .allowed(&searcher, &SearchFilters::default(), &Audience::All)
            .unwrap();
        words.known = index.known(&searcher, &words, &allowed).unwrap();
        let clauses = super::query::Clauses::of(&f, &words).unwrap();
        let page = index
            .search(text, &SearchFilters::default(), &Audience::All, 20, None, extras)
            .unwrap();
        assert!(!page.hits.is_empty(), "{text}");
        for hit in &page.hits {
            let id = Term::from_field_text(f.id, &hit.product_id);
            let (_, addr) = searcher
                .search(
                    &TermQuery::new(id, IndexRecordOption::Basic),
                    &TopDocs::with_limit(1).order_by_score(),
                )
                .unwrap()[0];
            let segment = searcher.segment_reader(addr.segment_ord);
            let expected: Vec<&str> = Shown::ALL
                .into_iter()
                .filter(|shown| {
                    let query = BooleanQuery::new(
                        clauses
                            .all()
                            .filter(|c| c.shown == *shown)
                            .map(|c| (Occur::Should, c.query()))
                            .collect(),
                    );
                    let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher)).unwrap();
                    let mut scorer = weight.scorer(segment, 1.0).unwrap();
                    let doc = addr.doc_id;
                    scorer.doc() == doc || (scorer.doc() < doc && scorer.seek(doc) == doc)
                })
                .map(Shown::label)
                .collect();
            let got: Vec<&str> = hit.highlights.iter().map(|h| h.field).collect();
            assert_eq!(got, expected, "{text}: {}", hit.qualified_name);
            assert!(!got.is_empty(), "{text}: {}", hit.qualified_name);
            seen.extend(got);
        }
    }
    // Every field these products have text in was matched somewhere.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["description", "domain", "fields", "name", "owner"]
    );
    // A prefix is a clause of names, tags and fields only: `ord` matches
    // `orders-team` in no hit's owner.
    let page = index
        .search("ord", &SearchFilters::default(), &Audience::All, 20, None, extras)
        .unwrap();
    assert!(page
        .hits
        .iter()
        .all(|h| h.highlights.iter().all(|h| h.field != "owner")));
}
