"""What every Ganglion service shares: event contracts, the bus, database plumbing, settings,
the run lifecycle, the polyaxonfile spec and auth primitives. Nothing service-specific."""
