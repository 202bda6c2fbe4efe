//! Indexes on who belongs to a team and what a team owns.
//!
//! Every authenticated request resolves its caller's principal
//! (`policy::Principal::resolve`): the teams of a member by user, then the
//! applications of those teams (whose approved subscriptions the caller may
//! read through). Without these indexes each request scanned both tables:
//! at 22,612 applications that scan cost a reader 2–3 ms on every request.
//! A team's products (`Team.dataProducts`) scanned the product table: 80 ms at
//! 100,000 products, 8 ms with the index.

crate::index_migration!(
    "ix_team_member_user" on "team_member"("user_id"),
    "ix_application_owner_team" on "application"("owner_team_id"),
    "ix_product_owner_team" on "data_product"("owner_team_id"),
);
