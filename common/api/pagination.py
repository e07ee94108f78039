"""Page-number pagination: `?page=2&page_size=20`, with absolute `next` / `previous` links and a total `count`."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    # A client cannot ask for the whole table in one page.
    max_page_size = 100
