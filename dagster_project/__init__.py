"""product-metrics: a product-KPI warehouse for SaaS teams."""

__version__ = "0.1.0"
