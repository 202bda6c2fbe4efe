//! An index on when a product last changed: every start-up reconciles the
//! search index with the products changed since its last commit, and
//! without it that read the whole product table (a million rows at a
//! million products).

crate::index_migration!(
    "idx_data_product_updated_at" on "data_product"("updated_at"),
);
