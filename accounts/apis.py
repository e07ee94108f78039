"""API endpoints of the accounts app."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    role = serializers.CharField(read_only=True)


@extend_schema(tags=["account"], responses=MeSerializer)
class MeApi(APIView):
    """Who the request is authenticated as: a quick check that an API key works."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(MeSerializer(request.user).data)
