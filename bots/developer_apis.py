"""The versions of the developer's own bots under /api/v1/developer/: the developer portal (bots.developer_views)
as an API. The list and the detail of the developer's bots, with their subscriber and revenue figures, are
catalog.developer_apis.

Developer accounts (and staff) only: a trader gets 403, an anonymous caller 401. Another developer's bot or version
is a 404, as if it did not exist. Uploads go through bots.services (bot_version_upload here, bot_create in
catalog.developer_apis), which check the files before storing anything: a refused upload is a 400 naming the field
and leaves no row and no file.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from bots import selectors
from bots.serializers import DeveloperVersionDetailSerializer, DeveloperVersionSerializer, VersionUploadSerializer
from bots.services import bot_version_upload
from common.api.pagination import StandardPagination
from common.api.schema import error_responses


class IsDeveloper(BasePermission):
    """Developer accounts and staff (User.is_developer). Anonymous callers get 401 (DRF asks them to log in)."""

    message = "The developer API is for developer accounts."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_developer)


@extend_schema(tags=["developer"])
class DeveloperVersionListApi(GenericAPIView):
    """The versions of one of the caller's bots, newest first. POST (multipart) uploads a new version: validation
    runs after the upload; subscribers keep the approved version until staff approve the new one."""

    permission_classes = [IsDeveloper]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DeveloperVersionSerializer
    pagination_class = StandardPagination

    @extend_schema(responses={200: DeveloperVersionSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request, slug: str):
        bot = selectors.developer_bot_get(slug=slug, developer=request.user)
        page = self.paginate_queryset(selectors.bot_versions(bot=bot))
        return self.get_paginated_response(DeveloperVersionSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": VersionUploadSerializer},
        responses={201: DeveloperVersionDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, slug: str):
        bot = selectors.developer_bot_get(slug=slug, developer=request.user)
        given = VersionUploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        version = bot_version_upload(bot=bot, developer=request.user, **given.validated_data)
        return Response(DeveloperVersionDetailSerializer(version).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["developer"], responses={200: DeveloperVersionDetailSerializer, **error_responses(401, 403, 404)})
class DeveloperVersionDetailApi(APIView):
    """One version of one of the caller's bots, with its validation report and approval."""

    permission_classes = [IsDeveloper]

    def get(self, request, slug: str, pk: int):
        version = selectors.developer_version_get(version_id=pk, developer=request.user)
        if version.bot.slug != slug:  # a version of the developer's other bot, under this bot's URL
            raise Http404("No such version.")
        return Response(DeveloperVersionDetailSerializer(version).data)
