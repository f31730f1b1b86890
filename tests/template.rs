//! `template.yaml` against the code: every function crate is deployed with a trigger and its
//! environment, and the table the code's key design needs is the one the template creates.

use palinsesto::store::Index;
use palinsesto::store::keys::table;
use palinsesto_system_tests::template::{functions, table_spec};

fn function_crates() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut crates: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    crates
}

#[test]
fn every_function_crate_is_deployed_with_a_trigger_and_its_environment() {
    let deployed = functions();
    for name in function_crates() {
        let f = deployed
            .iter()
            .find(|f| f.binary == name)
            .unwrap_or_else(|| panic!("functions/{name} is not deployed by template.yaml (no function with Binary: {name})"));
        assert_eq!(f.build_method, "rust-cargolambda", "{}", f.logical_id);
        assert_eq!(f.runtime, "provided.al2023", "{}", f.logical_id);
        assert_eq!(f.architectures, ["arm64"], "{}", f.logical_id);
        assert!(
            !f.triggers.is_empty(),
            "{} has no trigger (Events)",
            f.logical_id
        );
        assert!(
            f.environment.iter().any(|v| v == "TABLE_NAME"),
            "{} lacks TABLE_NAME",
            f.logical_id
        );
    }
    // And nothing is deployed that is not built from this repository.
    for f in &deployed {
        assert!(
            function_crates().contains(&f.binary),
            "{} deploys {}, which is not a crate under functions/",
            f.logical_id,
            f.binary
        );
    }
}

#[test]
fn the_template_table_is_the_one_the_key_design_needs() {
    let spec = table_spec();
    assert_eq!(
        (spec.hash_key.as_str(), spec.range_key.as_str()),
        (table::PK, table::SK)
    );
    assert_eq!(spec.ttl_attribute.as_deref(), Some(table::TTL));
    assert_eq!(spec.indexes.len(), Index::ALL.len(), "{:?}", spec.indexes);
    for index in Index::ALL {
        let (name, pk, sk) = table::index(index);
        let declared = spec
            .indexes
            .iter()
            .find(|i| i.0 == name)
            .unwrap_or_else(|| panic!("index {name} is missing from template.yaml"));
        assert_eq!(
            (declared.1.as_str(), declared.2.as_str()),
            (pk, sk),
            "{name}"
        );
        // The store decodes whole items from index queries.
        assert_eq!(declared.3, "ALL", "{name} must project ALL attributes");
    }
    for (attribute, kind) in &spec.attributes {
        assert_eq!(kind, "S", "{attribute}: every key attribute is a string");
    }
}
