"""Routes of the budget API, one module per resource."""
