//! An index on the topic a product is bound to: every publish and adoption
//! checks that no other product holds the topic, and without it that check
//! read the whole product table (a million rows at a million products).

crate::index_migration!(
    "idx_data_product_topic_name" on "data_product"("topic_name"),
);
