from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """The storefront: the catalog, bot pages, track records and the rules of reviews. No models of its own."""

    name = "catalog"
    label = "catalog"
