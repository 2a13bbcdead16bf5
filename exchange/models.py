"""The exchange between registries (省际交换): peers, the outbox, the inbox and the record
of questions asked and answered.

- ``Peer`` — another province's registry: the province codes it serves, its base URL and
  its public key (``docs/exchange.md``);
- ``OutboxMessage`` — a message to a peer, written in the transaction of the business
  change that sends it and delivered by a Celery task (``exchange.delivery``);
- ``InboxMessage`` — a message from a peer, applied once: its id is unique;
- ``InboxRefusal`` — a message refused before it could be applied (bad signature, unknown
  sender, replay, bad shape): the log of what was turned away;
- ``PeerQuery`` — a question to a peer (is this ID number held there?) or from one, with
  its answer: the audit of both sides.
"""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


@pghistory.track()
class Peer(models.Model):
    """A peer registry (another province running its own instance)."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    provinces = ArrayField(models.CharField(max_length=2), verbose_name=_("服务的省份代码"))
    base_url = models.URLField(_("地址"))
    public_key = models.CharField(_("公钥"), max_length=64, help_text=_("Ed25519 公钥（32 字节的 base64）"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("对端学籍系统")
        verbose_name_plural = _("对端学籍系统")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({','.join(self.provinces)})"


class OutboxMessage(models.Model):
    """A message to a peer (发件箱)."""

    class State(models.TextChoices):
        WAITING = "waiting", _("待发送")
        DELIVERED = "delivered", _("已送达")
        REFUSED = "refused", _("被拒收")
        DEAD = "dead", _("发送失败")

    message_id = models.UUIDField(default=uuid.uuid4, unique=True)
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="outbox")
    type = models.CharField(max_length=64)
    envelope = models.JSONField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    refusal_code = models.CharField(max_length=64, blank=True)
    refusal_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["peer", "state", "id"], name="exchange_outbox_queue")]

    def __str__(self) -> str:
        return f"{self.type} → {self.peer_id} ({self.state})"


class InboxMessage(models.Model):
    """A message from a peer (收件箱), applied once: the unique id is the guard."""

    class State(models.TextChoices):
        APPLIED = "applied", _("已处理")
        REFUSED = "refused", _("已拒绝")

    message_id = models.UUIDField(unique=True)
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="inbox")
    type = models.CharField(max_length=64)
    envelope = models.JSONField()
    state = models.CharField(max_length=16, choices=State.choices)
    refusal_code = models.CharField(max_length=64, blank=True)
    refusal_message = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} ← {self.peer_id} ({self.state})"


class InboxRefusal(models.Model):
    """A message turned away before it was applied (签名无效、重放、来源不明、格式有误)."""

    received_at = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=64, blank=True)
    sender = models.CharField(max_length=8, blank=True)
    type = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=64)
    reason = models.CharField(max_length=500)
    remote_address = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at"]


class PeerQuery(models.Model):
    """A question between registries and its answer (跨省查重), kept on both sides."""

    class Direction(models.TextChoices):
        ASKED = "asked", _("本省询问")
        ANSWERED = "answered", _("外省询问")

    class Outcome(models.TextChoices):
        HELD = "held", _("有在籍学生")
        NOT_HELD = "not_held", _("无")
        UNREACHABLE = "unreachable", _("对端无法连接")
        REFUSED = "refused", _("被拒绝")

    direction = models.CharField(max_length=16, choices=Direction.choices)
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="queries")
    message_id = models.UUIDField()
    type = models.CharField(max_length=64)
    question = models.JSONField()
    answer = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    asked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-asked_at"]
        constraints = [models.UniqueConstraint(fields=["direction", "message_id"], name="exchange_query_once")]
