"""What of a customer is masked when the account obscures customer info (docs/contract.md#privacy).

The one place that decides it; every surface that lets conversation data leave the service
(interactionDetails and calldetails, the conversation query and detail endpoints, transcripts and
their e-mail headers, exports, the change feed) asks :func:`account_obscures` and, when it does,
passes what it is about to serve through a :class:`Masker` of that conversation.

What is masked: the customer's e-mail addresses and phone numbers, replaced by the conversation's
internal user id (``userId``; an empty string when it has none). They are known from the fields that
carry them — ``customerinfo`` keys naming a phone or an e-mail (not the center's), ``metaInfo``'s
``email``/``phoneNumber`` and the caller (inbound) or callee (outbound), a ``channelSpecificUserId``
that is an address or a number, the content's ``identifiers`` caller/callee and ``customer``
section, and the transcript's e-mail headers (``from`` of the customer's messages, ``to`` of the
others'); a number also in its bare digits. Each of those values is then replaced wherever it
appears in what is served, inside longer text too; in the customer's own messages, anything shaped
like an e-mail address or a phone number is masked as well. Agents' addresses are not the customer's and stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analytics_api.models import Account
from supervision.models import PrivacySettings

EMAIL_SHAPE = re.compile(r"[^\s@<>(),;:\"']+@[^\s@<>(),;:\"']+\.[A-Za-z]{2,}")
# A phone number: an optional +, then 7 to 15 digits with the usual separators between them.
PHONE_SHAPE = re.compile(r"(?<![\w+])\+?\d(?:[\s().-]*\d){6,14}(?!\w)")
_CONTACT_KEY = re.compile(r"phone|e-?mail|mobile", re.IGNORECASE)
_HEADER_KEYS = ("from", "to", "cc", "bcc")


def account_obscures(*, account: Account | int) -> bool:
    """Whether the account has switched on ``obscureCustomerInfo``.

    A request's account comes with its settings (authentication joins them), so this reads nothing;
    an account id (a worker's) costs one indexed read.
    """
    if isinstance(account, int):
        return PrivacySettings.objects.filter(account_id=account, obscure_customer_info=True).exists()
    try:
        return account.privacy_settings.obscure_customer_info
    except PrivacySettings.DoesNotExist:
        return False


def _looks_like_contact(value: Any) -> bool:
    return isinstance(value, str) and bool(EMAIL_SHAPE.fullmatch(value.strip()) or PHONE_SHAPE.fullmatch(value.strip()))


def _addresses(value: Any) -> Iterable[str]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            yield from EMAIL_SHAPE.findall(item)
        elif isinstance(item, Mapping):
            yield from _addresses(item.get("address") or item.get("email"))


def customer_contacts(
    *,
    document: Mapping[str, Any] | None = None,
    sections: Mapping[str, Any] | None = None,
    messages: Iterable[Mapping[str, Any]] = (),
) -> set[str]:
    """The customer's e-mail addresses and phone numbers as they are stored (see the module's rules)."""
    found: list[Any] = []
    for source in (document or {}, sections or {}):
        info = source.get("customerinfo")
        if isinstance(info, Mapping):
            found.extend(
                value for key, value in info.items() if _CONTACT_KEY.search(key) and not key.startswith("Center")
            )
        meta = source.get("metaInfo")
        if isinstance(meta, Mapping):
            found.extend((meta.get("email"), meta.get("phoneNumber")))
            direction = str(source.get("Direction") or "").lower()
            found.append(meta.get("callee") if direction == "outbound" else meta.get("caller"))
        channel_user = source.get("channelSpecificUserId")
        if _looks_like_contact(channel_user):
            found.append(channel_user)
        identifiers = source.get("identifiers")
        if isinstance(identifiers, Mapping):
            found.extend(value for key, value in identifiers.items() if key in ("caller", "callee"))
        customer = source.get("customer")
        if isinstance(customer, Mapping):
            found.extend(value for key, value in customer.items() if _CONTACT_KEY.search(key))
    for message in messages:
        headers = message.get("email")
        if isinstance(headers, Mapping):
            found.extend(_addresses(headers.get("from" if message.get("role") == "customer" else "to")))
    center = set()
    for source in (document or {}, sections or {}):
        info, meta = source.get("customerinfo"), source.get("metaInfo")
        center.add(info.get("CenterPhone") if isinstance(info, Mapping) else None)
        center.add(meta.get("dialedNumber") if isinstance(meta, Mapping) else None)
    contacts = {
        value.strip() for value in found
        if isinstance(value, str) and _looks_like_contact(value) and value.strip() not in center
    }
    # A number is also written as its bare digits elsewhere (SIP headers, another system's format).
    contacts |= {
        digits for value in contacts
        if not EMAIL_SHAPE.fullmatch(value) and len(digits := re.sub(r"\D", "", value)) >= 7
    }
    return contacts


def customer_user_id(*sources: Mapping[str, Any] | None) -> str:
    """The conversation's internal user id (``userId`` of the interaction record or the content), else ""."""
    for source in sources:
        if not source:
            continue
        user_id = source.get("userId")
        if not user_id and isinstance(source.get("customer"), Mapping):
            user_id = source["customer"].get("userId")
        if isinstance(user_id, str) and user_id:
            return user_id
    return ""


@dataclass(frozen=True)
class Masker:
    """Replaces one conversation's customer contacts by its user id in anything about to be served."""

    contacts: tuple[str, ...]
    replacement: str

    @classmethod
    def of(
        cls,
        *,
        document: Mapping[str, Any] | None = None,
        sections: Mapping[str, Any] | None = None,
        messages: Iterable[Mapping[str, Any]] = (),
    ) -> Masker:
        """The masker of a conversation from what is known of it (interaction document, content, transcript)."""
        contacts = customer_contacts(document=document, sections=sections, messages=messages)
        # Longest first, so a number is never half-replaced by a shorter one inside it.
        return cls(tuple(sorted(contacts, key=len, reverse=True)), customer_user_id(document, sections))

    def text(self, value: str) -> str:
        for contact in self.contacts:
            if contact in value:
                value = value.replace(contact, self.replacement)
        return value

    def free_text(self, value: str) -> str:
        """Text the customer wrote: known contacts, then anything shaped like an address or a number."""
        value = EMAIL_SHAPE.sub(self.replacement, self.text(value))
        return PHONE_SHAPE.sub(self.replacement, value)

    def value(self, value: Any) -> Any:
        """``value`` (JSON: objects, lists, strings…) with the contacts replaced at every level."""
        if isinstance(value, str):
            return self.text(value) if self.contacts else value
        if isinstance(value, Mapping):
            return {key: self._member(key, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value

    def _member(self, key: str, item: Any) -> Any:
        if key == "customerinfo" and isinstance(item, Mapping):
            return {
                name: self.replacement if _CONTACT_KEY.search(name) and not name.startswith("Center") and item[name]
                else self.value(item[name])
                for name in item
            }
        return self.value(item)

    def message(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """A transcript message: its e-mail headers and text, the customer's own text by shape too."""
        masked = self.value(message)
        headers = masked.get("email")
        if isinstance(headers, Mapping):
            masked["email"] = {
                key: (self._header(item) if key in _HEADER_KEYS else item) for key, item in headers.items()
            }
        if message.get("role") == "customer" and isinstance(masked.get("text"), str):
            masked["text"] = self.free_text(masked["text"])
        return masked

    def _header(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._header(item) for item in value]
        return self.text(value) if isinstance(value, str) else self.value(value)


def masker_for(
    *,
    obscure: bool,
    document: Mapping[str, Any] | None = None,
    sections: Mapping[str, Any] | None = None,
    messages: Iterable[Mapping[str, Any]] = (),
) -> Masker | None:
    """The conversation's masker when the account obscures customer info, else None (serve as stored)."""
    if not obscure:
        return None
    return Masker.of(document=document, sections=sections, messages=messages)
