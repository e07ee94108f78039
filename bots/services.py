"""Writes of the bots app: moderation (every moderation writes an audit log row), uploads and reviews."""

import secrets
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from accounts.services import audit_log_record
from bots.exceptions import (
    BotConfigInvalid,
    BotNotValidated,
    IllegalBotTransition,
    NotBotDeveloper,
    RejectionReasonRequired,
    UploadConflict,
    UploadRejected,
)
from bots.models import Bot, BotCategory, BotReview, BotVersion
from bots.uploads import StoredUpload, upload_store, uploads_atomic, version_check
from common.tasks import enqueue_on_commit
from core.sdk import ConfigError, validate_config, validate_schema

S = Bot.Status
# The moderation workflow: which status may follow which. Anything else is an IllegalBotTransition.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.APPROVED, S.REJECTED, S.ARCHIVED},
    S.APPROVED: {S.ARCHIVED, S.PENDING},
    S.REJECTED: {S.PENDING, S.ARCHIVED},
    S.ARCHIVED: {S.PENDING},
}


def _transition(*, bot: Bot, target: str, actor: User, action: str, request: HttpRequest | None, **changes) -> Bot:
    """Move a locked bot row to `target`, apply `changes`, and audit it. Raises IllegalBotTransition."""
    # Lock the row: two staff members moderating the same bot at once must not both succeed.
    locked = Bot.objects.select_for_update().get(pk=bot.pk)
    if target not in ALLOWED_TRANSITIONS[locked.status]:
        raise IllegalBotTransition(locked, target)
    old_values = {"status": locked.status}
    locked.status = target
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "updated_at", *changes])
    new_values = {"status": target} | (
        {"rejection_reason": changes["rejection_reason"]} if changes.get("rejection_reason") else {}
    )
    audit_log_record(
        actor=actor, action=action, instance=locked, old_values=old_values, new_values=new_values, request=request
    )
    return locked


@transaction.atomic
def bot_approve(*, bot: Bot, actor: User, request: HttpRequest | None = None) -> Bot:
    """Approve a pending bot: it enters the catalog. Sets approved_by/approved_at; clears any old rejection.

    Raises BotNotValidated unless its newest version passed validation (bot_approval_check)."""
    bot_approval_check(bot)
    approved = _transition(
        bot=bot,
        target=S.APPROVED,
        actor=actor,
        action="bot.approve",
        request=request,
        approved_by=actor,
        approved_at=timezone.now(),
        rejection_reason="",
    )
    newest = BotVersion.objects.filter(bot=approved).order_by("-created_at", "-pk").first()
    _version_approve(version=newest, actor=actor, request=request)
    return approved


@transaction.atomic
def bot_version_approve(*, version: BotVersion, actor: User, request: HttpRequest | None = None) -> BotVersion:
    """Approve a new version of an approved bot: from now on its subscribers run it. Raises BotNotValidated unless
    it passed validation (or is built in), and BotError when the bot itself is not approved (approve the bot)."""
    if version.bot.status != S.APPROVED:
        raise BotNotValidated(f"“{version.bot.name}” is not approved yet: approve the bot itself.")
    if not version.builtin_slug and version.validation_status != BotVersion.ValidationStatus.PASSED:
        raise BotNotValidated(
            f"Version {version.version} of “{version.bot.name}” has not passed validation "
            f"({version.get_validation_status_display().lower()})."
        )
    return _version_approve(version=version, actor=actor, request=request)


def _version_approve(*, version: BotVersion, actor: User, request: HttpRequest | None) -> BotVersion:
    """Mark `version` approved and mirror it on the bot's own columns (version, code and model paths, schema)."""
    version.approved_at, version.approved_by = timezone.now(), actor
    version.save(update_fields=["approved_at", "approved_by"])
    Bot.objects.filter(pk=version.bot_id).update(
        version=version.version,
        code_path=version.code_path,
        model_path=version.model_path,
        config_schema=version.config_schema,
        default_config=version.default_config,
        updated_at=timezone.now(),
    )
    audit_log_record(
        actor=actor,
        action="bot.version_approve",
        instance=version.bot,
        new_values={"version": version.version},
        request=request,
    )
    return version


def bot_approval_check(bot: Bot) -> None:
    """Raise BotNotValidated unless `bot` may be approved: its newest version passed the automatic validation, or
    is a built-in (the platform's own code, never uploaded). A bot without any version has nothing to run."""
    newest = BotVersion.objects.filter(bot=bot).order_by("-created_at", "-pk").first()
    if newest is None:
        raise BotNotValidated(f"“{bot.name}” has no version to run yet: its developer must upload one.")
    if newest.builtin_slug:
        return
    if newest.validation_status != BotVersion.ValidationStatus.PASSED:
        raise BotNotValidated(
            f"“{bot.name}” cannot be approved: its newest version {newest.version} has not passed validation "
            f"({newest.get_validation_status_display().lower()})."
        )


@transaction.atomic
def bot_reject(*, bot: Bot, actor: User, reason: str, request: HttpRequest | None = None) -> Bot:
    """Reject a pending bot with a reason the developer sees. Raises RejectionReasonRequired if it is blank."""
    reason = (reason or "").strip()
    if not reason:
        raise RejectionReasonRequired()
    return _transition(
        bot=bot,
        target=S.REJECTED,
        actor=actor,
        action="bot.reject",
        request=request,
        rejection_reason=reason,
        approved_by=None,
        approved_at=None,
    )


RATING_PLACES = Decimal("0.01")


def bot_review_totals_refresh(locked: Bot) -> tuple[Decimal, int]:
    """Recount the reviews of a bot whose row the caller locked; store and return (average_rating, total_reviews)."""
    totals = BotReview.objects.filter(bot=locked).aggregate(count=Count("pk"), rating_sum=Sum("rating"))
    count, rating_sum = totals["count"], totals["rating_sum"] or 0
    # From the integer sum, rounded half-up like the nightly refresh (subscriptions.bot_statistics): AVG of
    # integers comes back as a float on some databases.
    average = (Decimal(rating_sum) / count).quantize(RATING_PLACES, rounding=ROUND_HALF_UP) if count else Decimal(0)
    Bot.objects.filter(pk=locked.pk).update(average_rating=average, total_reviews=count)
    return average, count


@transaction.atomic
def review_delete(*, review: BotReview, actor: User, request: HttpRequest | None = None) -> None:
    """Delete a review (staff moderation), refresh its bot's average_rating and total_reviews, and audit it with
    what the review said (`review.delete`)."""
    # Lock the bot row first, as catalog.services.review_create_or_update does, so a review saved meanwhile is counted.
    locked = Bot.objects.select_for_update().get(pk=review.bot_id)
    audit_log_record(
        actor=actor,
        action="review.delete",
        instance=review,
        old_values={"bot": review.bot_id, "user": review.user_id, "rating": review.rating, "text": review.text},
        request=request,
    )
    review.delete()
    bot_review_totals_refresh(locked)


# --- Uploads by developers ------------------------------------------------------------------------------------------


def _config_check(*, config_schema, default_config) -> dict:
    """The default config with the schema's defaults filled in. Raises BotConfigInvalid with per-field errors."""
    try:
        validate_schema(config_schema)
    except ConfigError as error:
        raise BotConfigInvalid({"config_schema": error.errors}) from None
    try:
        return validate_config(config_schema, default_config)
    except ConfigError as error:
        raise BotConfigInvalid({"default_config": error.errors}) from None


# Inserts tried when another bot took the chosen slug between the check and the insert (two bots of one name at once).
SLUG_ATTEMPTS = 5


def _unique_slug(name: str, *, random_suffix: bool = False) -> str:
    """A slug no bot has yet: the name's, else with the first free "-2", "-3"... (or a random suffix, for a retry
    after a clash, when counting up would likely meet the other request's choice again)."""
    base = slugify(name)[:90] or "bot"
    if random_suffix:
        return f"{base}-{secrets.token_hex(3)}"
    slug, n = base, 1
    while Bot.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _bot_insert(**fields) -> Bot:
    """Bot.objects.create with a fresh slug for `fields["name"]`. The check in _unique_slug and the insert are not
    atomic: another bot of the same name created at the same moment can take the slug first. The unique index
    decides; the loser's insert rolls back alone (a savepoint) and draws another slug."""
    for attempt in range(SLUG_ATTEMPTS):
        slug = _unique_slug(fields["name"], random_suffix=attempt > 0)
        try:
            with transaction.atomic():
                return Bot.objects.create(slug=slug, **fields)
        except IntegrityError:
            if not Bot.objects.filter(slug=slug).exists():
                raise  # another constraint: not a slug clash
    raise UploadConflict("Another bot of this name was created at the same moment: send it again.", field="name")


def _version_create(
    *,
    bot: Bot,
    developer: User,
    version: str,
    code_file: UploadedFile,
    model_file: UploadedFile | None,
    config_schema: dict,
    default_config: dict,
    changelog: str,
    stored_files: list[StoredUpload],
) -> BotVersion:
    """Store the files and write the version row; audits it and enqueues its validation after the commit.

    The stored files are appended to `stored_files` (from bots.uploads.uploads_atomic), which deletes them if the
    surrounding transaction does not commit."""
    if BotVersion.objects.filter(bot=bot, version=version).exists():
        raise UploadRejected(
            f"Version {version} of this bot exists already; give the new one another number.", field="version"
        )
    stored = upload_store(bot_id=bot.pk, version=version, code_file=code_file, model_file=model_file)
    stored_files.append(stored)
    try:
        # A savepoint, so the error below is raised from a usable transaction; the caller's uploads_atomic rolls
        # everything back and deletes the files.
        with transaction.atomic():
            bot_version = BotVersion.objects.create(
                bot=bot,
                version=version,
                changelog=(changelog or "").strip(),
                code_path=stored.code_path,
                model_path=stored.model_path,
                code_sha256=stored.code_sha256,
                config_schema=config_schema,
                default_config=default_config,
            )
    except IntegrityError:
        # The bot row's lock (bot_version_upload) serializes two uploads on MariaDB, and SQLite's IMMEDIATE
        # transactions do; the unique (bot, version) index is the last word should anything slip through.
        raise UploadConflict(
            f"Version {version} of this bot was uploaded at the same moment; give the new one another number.",
            field="version",
        ) from None
    audit_log_record(
        actor=developer,
        action="bot.version_upload",
        instance=bot,
        new_values={
            "version": version,
            "code_path": stored.code_path,
            "model_path": stored.model_path,
            "code_sha256": stored.code_sha256,
        },
    )
    version_id = bot_version.pk
    # After the commit: a worker must never look for a version row that is not committed yet.
    enqueue_on_commit("bots.validate_bot_version", version_id)
    return bot_version


def bot_create(
    *,
    developer: User,
    name: str,
    description: str,
    category: BotCategory | None,
    bot_type: str,
    price_per_month: Decimal,
    trial_days: int,
    code_file: UploadedFile,
    model_file: UploadedFile | None = None,
    config_schema: dict,
    default_config: dict,
    version: str = "1.0.0",
) -> Bot:
    """Create a PENDING bot with its first version (files stored, validation enqueued after the commit).

    Staff approve it once that version passed. LLM bots are accepted here; validation refuses them for now.
    Raises NotBotDeveloper for a non-developer, BotConfigInvalid (per field), UploadRejected (nothing stored).
    Runs in its own durable transaction (never inside another atomic block): if anything fails before the commit,
    the stored files are deleted with the rolled-back rows (bots.uploads.uploads_atomic).
    """
    if not developer.is_developer:
        raise NotBotDeveloper("Only developer accounts can publish bots.")
    version = version_check(version)
    default_config = _config_check(config_schema=config_schema, default_config=default_config)
    price_per_month = Decimal(price_per_month or 0)
    with uploads_atomic() as stored_files:
        return _bot_create(
            developer=developer,
            name=name,
            description=description,
            category=category,
            bot_type=bot_type,
            price_per_month=price_per_month,
            trial_days=trial_days,
            code_file=code_file,
            model_file=model_file,
            config_schema=config_schema,
            default_config=default_config,
            version=version,
            stored_files=stored_files,
        )


def _bot_create(
    *,
    developer: User,
    name: str,
    description: str,
    category: BotCategory | None,
    bot_type: str,
    price_per_month: Decimal,
    trial_days: int,
    code_file: UploadedFile,
    model_file: UploadedFile | None,
    config_schema: dict,
    default_config: dict,
    version: str,
    stored_files: list[StoredUpload],
) -> Bot:
    """The writes of bot_create, inside its transaction (the arguments are checked already)."""
    bot = _bot_insert(
        developer=developer,
        name=name.strip(),
        description=description.strip(),
        category=category,
        bot_type=bot_type,
        version=version,
        price_per_month=price_per_month,
        is_free=price_per_month == 0,
        trial_days=trial_days if price_per_month else 0,
        config_schema=config_schema,
        default_config=default_config,
        status=Bot.Status.PENDING,
    )
    audit_log_record(
        actor=developer,
        action="bot.create",
        instance=bot,
        new_values={"name": bot.name, "bot_type": bot_type, "price_per_month": str(price_per_month)},
    )
    bot_version = _version_create(
        bot=bot,
        developer=developer,
        version=version,
        code_file=code_file,
        model_file=model_file,
        config_schema=config_schema,
        default_config=default_config,
        changelog="First version.",
        stored_files=stored_files,
    )
    Bot.objects.filter(pk=bot.pk).update(code_path=bot_version.code_path, model_path=bot_version.model_path)
    bot.code_path, bot.model_path = bot_version.code_path, bot_version.model_path
    return bot


def bot_version_upload(
    *,
    bot: Bot,
    developer: User,
    version: str,
    code_file: UploadedFile,
    model_file: UploadedFile | None = None,
    config_schema: dict,
    default_config: dict,
    changelog: str = "",
) -> BotVersion:
    """Add a version to `bot` (older versions stay; subscribers keep the newest PASSED one, see
    selectors.bot_version_for_run). A rejected bot goes back to PENDING for review; others keep their status.

    Raises NotBotDeveloper unless `developer` is the bot's developer, BotConfigInvalid, UploadRejected.
    Runs in its own durable transaction, like bot_create: a failure before the commit deletes the stored files.
    """
    if bot.developer_id != developer.pk:
        raise NotBotDeveloper()
    version = version_check(version)
    default_config = _config_check(config_schema=config_schema, default_config=default_config)
    with uploads_atomic() as stored_files:
        # Lock the bot: two uploads of the same version number at once must not both pass the exists() check.
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        bot_version = _version_create(
            bot=locked,
            developer=developer,
            version=version,
            code_file=code_file,
            model_file=model_file,
            config_schema=config_schema,
            default_config=default_config,
            changelog=changelog,
            stored_files=stored_files,
        )
        if locked.status == Bot.Status.REJECTED:
            _transition(bot=locked, target=S.PENDING, actor=developer, action="bot.resubmit", request=None)
        return bot_version
