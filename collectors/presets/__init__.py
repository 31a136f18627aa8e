"""Shipped format mappings for web filters that only export reports (one TOML
file per vendor, read by `collectors.mapping.presets`). Each file documents
where its columns come from and what is assumed where the vendor's
documentation is thin; a district can always define its own mapping instead."""
