"""Publishing the checked marts to the serving database (no Dagster here: the asset is in
``defs/publish``)."""
