"""HTTP routes, one router module per resource."""
