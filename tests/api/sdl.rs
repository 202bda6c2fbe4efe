//! `schema.graphql` must be the SDL printed by the code.

#[test]
fn schema_graphql_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let current = mesh_catalog::graphql::sdl();
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &current).expect("write schema.graphql");
        return;
    }
    assert!(
        stored == current,
        "schema.graphql is stale: regenerate it with `cargo run -- schema > schema.graphql` (or UPDATE_SCHEMA=1 cargo test sdl)"
    );
}

#[test]
fn sdl_covers_the_catalog_api() {
    let sdl = mesh_catalog::graphql::sdl();
    for name in [
        "publishDataProduct",
        "registerSchemaVersion",
        "deprecateDataProduct",
        "retireDataProduct",
        "requestAccess",
        "approveAccess",
        "rejectAccess",
        "revokeAccess",
        "recordQualityResult",
        "addLineageEdge",
        "removeLineageEdge",
        "checkSchemaCompatibility",
        "schemaDiff",
        "impact",
        "auditLog",
    ] {
        assert!(sdl.contains(name), "{name} missing from the SDL");
    }
}
