"""The partner marketplace API under /api/v1/marketplace/ (docs/partner-api.md).

Two kinds of caller:
- a partner account (`Api-Key`, the user's own key): its registrations of catalog bots;
- a registration's bot API key (`Marketplace-Key`): the principals it serves, every read and write scoped to that
  registration by partners.selectors (out of scope is a 404).
Each endpoint validates its input, calls one service or selector and serialises the answer.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from accounts.models import Exchange, ExchangeCredential
from bots.models import Bot
from common.api.schema import ErrorSerializer, error_responses
from partners import selectors, services
from partners.authentication import MarketplaceKeyAuthentication
from partners.exceptions import PartnerError
from partners.models import BotMarketplaceRegistration
from partners.permissions import IsPartner, IsRegistrationKey
from partners.principals import PRINCIPAL_PATTERN, end_user_principal_validate
from partners.serializers import (
    PrincipalCredentialSerializer,
    PrincipalCredentialStoreSerializer,
    PrincipalPerformanceSerializer,
    PrincipalSubscriptionCreateSerializer,
    PrincipalSubscriptionSerializer,
    PrincipalSubscriptionUpdateSerializer,
    PrincipalTradeSerializer,
    RegistrationCreatedSerializer,
    RegistrationCreateSerializer,
    RegistrationSerializer,
)
from subscriptions import services as subscription_services
from subscriptions.models import Subscription
from trading import clock

CONFLICT = {
    409: OpenApiResponse(
        response=ErrorSerializer,
        description="Another partner marketplace holds the principal's key for that exchange and network "
        "(code `conflict`).",
    )
}
PRINCIPAL = OpenApiParameter(
    "principal",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The end user's Internet Computer principal id, textual form (e.g. `rrkah-fqaaa-aaaaa-aaaaq-cai`). "
    "The pattern gives the shape only: a wrong CRC-32 checksum, the anonymous principal or the management canister "
    "is a 400 naming `principal` too.",
    pattern=PRINCIPAL_PATTERN,
)
EXCHANGE = OpenApiParameter("exchange", OpenApiTypes.STR, OpenApiParameter.PATH, enum=Exchange.values)
NETWORK = OpenApiParameter("network", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["testnet", "mainnet"])


class _PartnerErrors:
    """OPTIONS is a 405: DRF's metadata would build serializers these views do not have for every method (a 500).
    The partners app's domain errors (400, or 409 for a conflict) reach the shared handler in
    common.api.exceptions like every app's."""

    metadata_class = None


# --- The partner's registrations (Api-Key) ---------------------------------------------------------------------


class _PartnerApi(_PartnerErrors, generics.GenericAPIView):
    permission_classes = [IsPartner]
    serializer_class = RegistrationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return BotMarketplaceRegistration.objects.none()
        return selectors.registration_list(partner=self.request.user)


@extend_schema(tags=["partner registrations"])
class RegistrationListApi(generics.ListAPIView, _PartnerApi):
    """The calling partner's registrations, newest first. POST registers an approved bot."""

    @extend_schema(responses={200: RegistrationSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=RegistrationCreateSerializer,
        responses={201: RegistrationCreatedSerializer, **error_responses(400, 401, 403)},
        description="Register an approved catalog bot on your marketplace. The answer carries the registration's "
        "bot API key (`bot_api_key`) once; only its hash is kept. The commission rate is the platform's.",
    )
    def post(self, request):
        given = RegistrationCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        bot = Bot.objects.filter(slug=data.pop("bot")).first()
        if bot is None:
            raise PartnerError("No bot has that slug.", field="bot")
        registration, clear_key = services.registration_create(partner=request.user, bot=bot, request=request, **data)
        registration.bot_api_key = clear_key
        return Response(RegistrationCreatedSerializer(registration).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["partner registrations"])
class RegistrationDetailApi(_PartnerApi):
    @extend_schema(responses={200: RegistrationSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk: int):
        registration = selectors.registration_get(partner=request.user, pk=pk)
        return Response(RegistrationSerializer(registration).data)


@extend_schema(tags=["partner registrations"])
class RegistrationDeactivateApi(_PartnerApi):
    @extend_schema(
        request=None,
        responses={200: RegistrationSerializer, **error_responses(400, 401, 403, 404)},
        description="Deactivate the registration: its bot API key fails from the next request on, and its running "
        "subscriptions are paused. There is no reactivation: register the bot again for a new key.",
    )
    def post(self, request, pk: int):
        registration = selectors.registration_get(partner=request.user, pk=pk)
        registration = services.registration_deactivate(registration=registration, actor=request.user, request=request)
        return Response(RegistrationSerializer(registration).data)


# --- The principals of a registration (Marketplace-Key) --------------------------------------------------------


class _PrincipalApi(_PartnerErrors, generics.GenericAPIView):
    """request.auth is the registration (partners.authentication); request.user its partner account."""

    authentication_classes = [MarketplaceKeyAuthentication]
    permission_classes = [IsRegistrationKey]

    def principal(self) -> str:
        """The principal of the URL, checked (PrincipalInvalid: a 400 naming `principal`)."""
        return end_user_principal_validate(self.kwargs["principal"])

    def subscription(self):
        return selectors.principal_subscription_get(
            registration=self.request.auth, principal_id=self.principal(), pk=self.kwargs["pk"]
        )


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalCredentialListApi(generics.ListAPIView, _PrincipalApi):
    """The principal's exchange keys stored by your marketplace (any of your registrations), masked."""

    serializer_class = PrincipalCredentialSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExchangeCredential.objects.none()
        return selectors.principal_credentials(registration=self.request.auth, principal_id=self.principal())

    @extend_schema(responses={200: PrincipalCredentialSerializer(many=True), **error_responses(400, 401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL, EXCHANGE, NETWORK])
class PrincipalCredentialApi(_PrincipalApi):
    @extend_schema(
        request=PrincipalCredentialStoreSerializer,
        responses={200: PrincipalCredentialSerializer, **error_responses(400, 401), **CONFLICT},
        description="Store the principal's key for this exchange and network, or replace the one your marketplace "
        "stored (atomically). Write-only: the answer shows the last four characters of the key only. The key is "
        "validated with the exchange shortly after (`validation_status`).",
    )
    def put(self, request, principal: str, exchange: str, network: str):
        given = PrincipalCredentialStoreSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        credential = services.principal_credential_store(
            registration=request.auth,
            principal_id=self.principal(),
            exchange=exchange,
            network=network,
            request=request,
            **given.validated_data,
        )
        return Response(PrincipalCredentialSerializer(credential).data)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(400, 401, 404)},
        description="Delete the principal's key your marketplace stored. Subscriptions using it stop with an "
        "error at their next run until a key is stored again.",
    )
    def delete(self, request, principal: str, exchange: str, network: str):
        is_testnet = services.credential_slot(exchange=exchange, network=network)
        credential = selectors.principal_credential_get(
            registration=request.auth, principal_id=self.principal(), exchange=exchange, is_testnet=is_testnet
        )
        services.principal_credential_delete(credential=credential, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalSubscriptionListApi(generics.ListAPIView, _PrincipalApi):
    """The subscriptions this registration made for the principal, newest first. POST subscribes the principal."""

    serializer_class = PrincipalSubscriptionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return selectors.principal_subscriptions(registration=self.request.auth, principal_id=self.principal())

    @extend_schema(responses={200: PrincipalSubscriptionSerializer(many=True), **error_responses(400, 401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PrincipalSubscriptionCreateSerializer,
        responses={201: PrincipalSubscriptionSerializer, **error_responses(400, 401)},
        description="Subscribe the principal to this registration's bot for a rental window, on testnet or mainnet "
        "with the principal's key your marketplace stored. Validated as the site's subscribe page "
        "(subscriptions.services.subscription_create); nothing is stored on a 400.",
    )
    def post(self, request, principal: str):
        given = PrincipalSubscriptionCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        subscription = services.principal_subscription_create(
            registration=request.auth,
            principal_id=self.principal(),
            request=request,
            # Windows are judged on the engine's clock: the same one the scheduler starts and stops them by.
            now=clock.now(),
            **given.validated_data,
        )
        return Response(PrincipalSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalSubscriptionDetailApi(_PrincipalApi):
    serializer_class = PrincipalSubscriptionSerializer

    @extend_schema(responses={200: PrincipalSubscriptionSerializer, **error_responses(400, 401, 404)})
    def get(self, request, principal: str, pk: int):
        return Response(PrincipalSubscriptionSerializer(self.subscription()).data)

    @extend_schema(
        request=PrincipalSubscriptionUpdateSerializer,
        responses={200: PrincipalSubscriptionSerializer, **error_responses(400, 401, 404)},
        description="Change the name, the rental window, the evaluation period or the configs; what is left out "
        "stays. The market, exchange, network and trade mode cannot change (a 400 names them).",
    )
    def patch(self, request, principal: str, pk: int):
        subscription = self.subscription()
        given = PrincipalSubscriptionUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        schedule = {
            name: data[name] for name in ("started_at", "expires_at", "trade_evaluation_period") if name in data
        }
        subscription = subscription_services.subscription_update_config(
            subscription=subscription,
            actor=request.user,
            instance_name=data.get("instance_name"),
            strategy_config=data.get("strategy_config", subscription.strategy_config),
            execution_config=data.get("execution_config", subscription.execution_config),
            risk_config=data.get("risk_config", subscription.risk_config),
            now=clock.now(),
            request=request,
            **schedule,
        )
        return Response(PrincipalSubscriptionSerializer(subscription).data)


class _SubscriptionTransitionApi(_PrincipalApi):
    """POST moves one of the principal's subscriptions through subscriptions.services' transition map; an illegal
    move (resuming a cancelled subscription, pausing a paused one) is a 400."""

    transition = None  # a subscriptions.services function taking subscription, actor, request

    @extend_schema(request=None, responses={200: PrincipalSubscriptionSerializer, **error_responses(400, 401, 404)})
    def post(self, request, principal: str, pk: int):
        subscription = self.transition(subscription=self.subscription(), actor=request.user, request=request)
        return Response(PrincipalSubscriptionSerializer(subscription).data)


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalSubscriptionPauseApi(_SubscriptionTransitionApi):
    """Pause: no run until it is resumed; an open position stays as it is."""

    transition = staticmethod(subscription_services.subscription_pause)


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalSubscriptionResumeApi(_SubscriptionTransitionApi):
    """Resume a paused subscription, or one stopped by an error once its cause is fixed."""

    transition = staticmethod(subscription_services.subscription_resume)


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalSubscriptionCancelApi(_SubscriptionTransitionApi):
    """Cancel for good; an open position stays on the exchange."""

    transition = staticmethod(subscription_services.subscription_cancel)


class _SubscriptionRecordsApi(generics.ListAPIView, _PrincipalApi):
    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.serializer_class.Meta.model.objects.none()
        return self.records(subscription=self.subscription())


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalSubscriptionTradesApi(_SubscriptionRecordsApi):
    """The subscription's trades, open and closed, newest first."""

    serializer_class = PrincipalTradeSerializer
    records = staticmethod(selectors.principal_subscription_trades)

    @extend_schema(responses={200: PrincipalTradeSerializer(many=True), **error_responses(400, 401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["partner principals"], parameters=[PRINCIPAL])
class PrincipalSubscriptionPerformanceApi(_SubscriptionRecordsApi):
    """Every decision of the bot for the subscription (HOLD included) with price and balance, newest first."""

    serializer_class = PrincipalPerformanceSerializer
    records = staticmethod(selectors.principal_subscription_performance)

    @extend_schema(responses={200: PrincipalPerformanceSerializer(many=True), **error_responses(400, 401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
