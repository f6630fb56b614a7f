"""The validation kit: plain check functions for every input shape, built once and called per value.

A *check* takes a value as parsed from JSON (or a query string) and returns it validated, or raises
:class:`Invalid`. Checks compose: :func:`list_of` and :func:`obj` take checks for their items and
fields, :func:`then` adds rules on a result. Errors have the shape of a DRF ``ValidationError.detail``
(lists of ``ErrorDetail``, dicts by field name or list index), so
:func:`~analytics_api.kernel.errors.flatten_validation_errors` turns them into envelope items named like
``destinations[0].respondingAgent.agentId``.

Two wordings, one per kind of input:

- *DRF's wording* (:func:`text`, :func:`boolean`, :func:`integer`, :func:`choice`, :func:`json_value`,
  :func:`free_object`, :func:`list_of`, :func:`obj`): DRF's field rules, messages and codes, for the
  interaction records whose answers were those of DRF serializers.
- *Our wording*, naming the field (:func:`strict`, :func:`strict_text`, :func:`whole_number`,
  :func:`aware_time`, and ``obj(named=True)``): one JSON type per field, no coercion, messages saying
  what to send. Request parameters use it through DRF serializers' fields
  (:mod:`analytics_api.kernel.request_fields`).

Codes: ``required`` (absent), ``null`` (null where a value is needed), ``blank`` (empty text),
``invalid`` (the wrong type or form), ``out_of_range`` (a number outside its bounds),
``too_many`` (a list or object over its cap, refused before any item is looked at).

No serializer is built per value: a batch of a thousand records would otherwise build (and
deep-copy) one per record and per nested object, which cost most of an ingestion request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator, validate_email
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings
from rest_framework.utils import json
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from analytics_api.kernel.dates import DateFormatError, parse_aware

Check = Callable[[Any], Any]

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
_SURROGATE = re.compile("[\ud800-\udfff]")
_BOOLEANS = {**dict.fromkeys(serializers.BooleanField.TRUE_VALUES, True),
             **dict.fromkeys(serializers.BooleanField.FALSE_VALUES, False)}
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
# Digits beyond these are out of any range we take (and int() of thousands of digits is slow).
_MAX_DIGITS = 19


class Invalid(Exception):
    """A value (or one of its parts) broke a rule.

    ``detail`` has the shape of a DRF ``ValidationError.detail`` — lists of ``ErrorDetail``, dicts by
    field name or list index — so it flattens into envelope items exactly like a serializer's errors.
    """

    def __init__(self, detail: Any) -> None:
        super().__init__(detail)
        self.detail = detail


def invalid(msg: str, code: str = "invalid") -> Invalid:
    """The error of one value: ``msg`` with ``code``."""
    return Invalid([ErrorDetail(msg, code)])


def drf_message(field: type[serializers.Field], key: str, **params: Any) -> str:
    """DRF's own message of ``field`` for ``key``, so ours read exactly like a serializer's."""
    return str(field.default_error_messages[key]).format(**params)


def _missing(name: str | None, key: str) -> list[ErrorDetail]:
    """``required``/``null``: DRF's words, or (with ``name``) ours."""
    if name is None:
        return [ErrorDetail(drf_message(serializers.Field, key), key)]
    return [ErrorDetail(f"{name} is required." if key == "required" else f"{name} must not be null.", key)]


def is_number(data: Any) -> bool:
    """A JSON number that is one: not a boolean, not NaN or infinite."""
    return isinstance(data, int | float) and not isinstance(data, bool) and math.isfinite(data)


# --- Leaves in DRF's wording ---------------------------------------------------------------------


def _text_rules(value: str, max_length: int | None) -> str:
    """The validators DRF puts on every ``CharField``: length, then NUL, then surrogates (all reported)."""
    errors = []
    if max_length is not None and len(value) > max_length:
        msg = drf_message(serializers.CharField, "max_length", max_length=max_length)
        errors.append(ErrorDetail(msg, "max_length"))
    if "\x00" in value:
        errors.append(ErrorDetail(str(ProhibitNullCharactersValidator.message), ProhibitNullCharactersValidator.code))
    if not value.isascii() and (surrogate := _SURROGATE.search(value)):
        validator = ProhibitSurrogateCharactersValidator
        errors.append(ErrorDetail(str(validator.message).format(code_point=ord(surrogate.group())), validator.code))
    if errors:
        raise Invalid(errors)
    return value


def text(*, allow_blank: bool, trim: bool, max_length: int | None = None) -> Check:
    """DRF's ``CharField``: numbers become text, other types are refused; blank and trimming as configured."""

    def check(data: Any) -> str:
        if data.__class__ is str and data.isascii() and "\x00" not in data:
            # The usual case: plain ASCII text that needs no further look.
            value = data.strip() if trim else data
            if (value or allow_blank) and (max_length is None or len(value) <= max_length):
                return value
        if data == "" or (trim and str(data).strip() == ""):
            if not allow_blank:
                raise invalid(drf_message(serializers.CharField, "blank"), "blank")
            return ""
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            raise invalid(drf_message(serializers.CharField, "invalid"))
        value = str(data)
        return _text_rules(value.strip() if trim else value, max_length)

    return check


def boolean(data: Any) -> bool:
    """DRF's ``BooleanField``: true/false and their usual spellings (``"yes"``, ``1``, ``"off"``…)."""
    try:
        value = _BOOLEANS.get(data.lower() if isinstance(data, str) else data)
    except TypeError:  # unhashable: a list or an object
        value = None
    if value is None:
        raise invalid(drf_message(serializers.BooleanField, "invalid"))
    return value


def integer(*, min_value: int | None = None, max_value: int | None = None) -> Check:
    """DRF's ``IntegerField``: integers, or text/floats that are whole numbers, within the bounds."""

    def check(data: Any) -> int:
        if data.__class__ is int:
            value = data
        else:
            if isinstance(data, str) and len(data) > serializers.IntegerField.MAX_STRING_LENGTH:
                raise invalid(drf_message(serializers.IntegerField, "max_string_length"), "max_string_length")
            try:
                value = int(serializers.IntegerField.re_decimal.sub("", str(data)))
            except (ValueError, TypeError):
                raise invalid(drf_message(serializers.IntegerField, "invalid")) from None
        if min_value is not None and value < min_value:
            raise invalid(drf_message(serializers.IntegerField, "min_value", min_value=min_value), "min_value")
        if max_value is not None and value > max_value:
            raise invalid(drf_message(serializers.IntegerField, "max_value", max_value=max_value), "max_value")
        return value

    return check


def choice(*choices: str, message: str | None = None) -> Check:
    """DRF's ``ChoiceField``: the text of the value must be one of ``choices``.

    ``message`` replaces DRF's; ``{input}`` in it is the value sent.
    """

    def check(data: Any) -> str:
        if str(data) in choices:
            return str(data)
        msg = message or str(serializers.ChoiceField.default_error_messages["invalid_choice"])
        raise invalid(msg.format(input=data), "invalid_choice")

    return check


def json_value(data: Any) -> Any:
    """DRF's ``JSONField``: any value that strict JSON can represent (no NaN or infinity)."""
    # Text, or an object of texts (a skill), is JSON as it is; anything else is encoded to find out.
    if data.__class__ is str or (data.__class__ is dict and _texts_only(data)):
        return data
    try:
        json.dumps(data)
    except (TypeError, ValueError):
        raise invalid(drf_message(serializers.JSONField, "invalid")) from None
    return data


def _texts_only(data: dict[Any, Any]) -> bool:
    return all(key.__class__ is str and value.__class__ is str for key, value in data.items())


def free_object(data: Any) -> dict[str, Any]:
    """DRF's ``DictField``: an object, its values unchecked."""
    if not isinstance(data, dict):
        raise invalid(drf_message(serializers.DictField, "not_a_dict", input_type=type(data).__name__), "not_a_dict")
    return {str(key): value for key, value in data.items()}


# --- Leaves in our wording -----------------------------------------------------------------------


def strict(name: str, accepts: Callable[[Any], bool], expected: str) -> Check:
    """One JSON type taken as it is (``"5"`` is not 5, ``1`` is not true): ``<name> must be <expected>.``"""

    def check(data: Any) -> Any:
        if not accepts(data):
            raise invalid(f"{name} must be {expected}.")
        return data

    return check


def strict_text(name: str, *, max_length: int | None = None, allow_blank: bool = True) -> Check:
    """Text as sent; with ``allow_blank=False`` not empty nor only spaces; at most ``max_length`` characters."""
    expected = "a string" if allow_blank else "a non-empty string"
    if max_length:
        expected += f" of at most {max_length} characters"

    def accepts(data: Any) -> bool:
        return (
            isinstance(data, str)
            and (allow_blank or bool(data.strip()))
            and (max_length is None or len(data) <= max_length)
        )

    return strict(name, accepts, expected)


def whole_number(
    name: str, *, minimum: int, maximum: int | None = None, from_text: bool = False, message: str | None = None
) -> Check:
    """An integer within its bounds: ``invalid`` for anything else, ``out_of_range`` outside them.

    ``from_text`` takes digits as text too (a query-string parameter); a JSON body's integer must be
    a JSON integer. Both codes share one message, which says the whole rule (``message`` replaces it).
    """
    if message is None:
        bounds = f"of {minimum} or more" if maximum is None else f"from {minimum:,} to {maximum:,}"
        message = f"{name} must be an integer {bounds}."

    def check(data: Any) -> int:
        if data.__class__ is int:
            value = data
        elif from_text and isinstance(data, str) and _INTEGER_TEXT.fullmatch(data):
            if len(data.lstrip("-")) > _MAX_DIGITS:
                raise invalid(message, "out_of_range")
            value = int(data)
        else:
            raise invalid(message)
        if value < minimum or (maximum is not None and value > maximum):
            raise invalid(message, "out_of_range")
        return value

    return check


def flag(name: str, *, message: str | None = None) -> Check:
    """A boolean: true/false, or their usual spellings in a query string (``"true"``, ``"0"``, ``"off"``…)."""
    msg = message or f"{name} must be true or false."

    def check(data: Any) -> bool:
        try:
            value = _BOOLEANS.get(data.lower() if isinstance(data, str) else data)
        except TypeError:  # unhashable: a list or an object
            value = None
        if value is None:
            raise invalid(msg)
        return value

    return check


def email(name: str, *, max_length: int = 254, allow_blank: bool = True) -> Check:
    """An e-mail address (Django's rule), trimmed; empty text means none when ``allow_blank``."""
    msg = f"{name} must be an e-mail address such as privacy@example.com"
    msg += ", or empty for none." if allow_blank else "."

    def check(data: Any) -> str:
        if not isinstance(data, str):
            raise invalid(msg)
        value = data.strip()
        if not value and allow_blank:
            return ""
        if len(value) > max_length:
            raise invalid(msg)
        try:
            validate_email(value)
        except ValidationError:
            raise invalid(msg) from None
        return value

    return check


def aware_time(*, message: str = "{name} {reason}.", name: str = "", code: str = "invalid") -> Check:
    """An ISO-8601 instant naming its zone (``Z`` or ``±HH:MM``), as an aware ``datetime`` in UTC.

    ``message`` says what is wrong from ``{name}``, ``{value!r}`` (the value sent) and ``{reason}``.
    """

    def check(data: Any) -> datetime:
        try:
            return parse_aware(data)
        except DateFormatError as error:
            raise invalid(message.format(name=name, value=data, reason=error), code) from None

    return check


# --- Containers ----------------------------------------------------------------------------------


def list_of(child: Check, *, max_length: int | None = None, too_many: str = "", not_a_list: str = "") -> Check:
    """DRF's ``ListField``: every item checked; the errors of all bad items, by index.

    A list longer than ``max_length`` is refused with ``too_many`` before any item is checked.
    Anything but a list is refused in DRF's words (``not_a_list``), or with ``not_a_list`` (``invalid``).
    """

    def check(data: Any) -> list[Any]:
        if data.__class__ is not list and (isinstance(data, str | Mapping) or not hasattr(data, "__iter__")):
            if not_a_list:
                raise invalid(not_a_list)
            msg = drf_message(serializers.ListField, "not_a_list", input_type=type(data).__name__)
            raise invalid(msg, "not_a_list")
        items = data if isinstance(data, list) else list(data)
        if max_length is not None and len(items) > max_length:
            raise invalid(too_many, "too_many")
        if None not in items:
            try:
                return [child(item) for item in items]
            except Invalid:
                pass  # collect every bad item below
        result = []
        errors: dict[int, Any] = {}
        for index, item in enumerate(items):
            if item is None:
                errors[index] = _missing(None, "null")
                continue
            try:
                result.append(child(item))
            except Invalid as error:
                errors[index] = error.detail
        if errors:
            raise Invalid(errors)
        return result

    return check


def obj(
    fields: Mapping[str, Check],
    *,
    required: Collection[str] = (),
    open_: bool = True,
    named: bool = False,
    keep_unknown: bool | None = None,
) -> Check:
    """An object of declared ``fields``, as one check (a DRF serializer's rules).

    1. Anything but an object is refused (open shapes say so in our words, closed ones in DRF's).
    2. Each declared field, in declaration order: absent → ``required`` if it is; ``null`` → absent
       in an open shape (a closed one refuses it; a ``named`` one refuses it for a required field);
       otherwise its check. Every field's errors are collected, keyed by name.
    3. The validated fields, then (``keep_unknown``, by default for open shapes) the undeclared ones
       as they were sent, nulls dropped.

    ``named`` words ``required``/``null`` with the field's name ("Conversation ID is required.");
    otherwise DRF's ("This field is required.").
    """
    declared = tuple(fields.items())
    needed = frozenset(required)
    keep = open_ if keep_unknown is None else keep_unknown

    def check(data: Any) -> dict[str, Any]:
        if data.__class__ is not dict and not isinstance(data, Mapping):
            if open_:
                raise Invalid({NON_FIELD: [ErrorDetail("Expected a JSON object.", "invalid_type")]})
            msg = drf_message(serializers.Serializer, "invalid", datatype=type(data).__name__)
            raise Invalid({NON_FIELD: [ErrorDetail(msg, "invalid")]})
        validated: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        get = data.get
        for name, field in declared:
            value = get(name)
            if value is None:
                if name in data and (not open_ or (named and name in needed)):
                    errors[name] = _missing(name if named else None, "null")
                elif name in needed:
                    errors[name] = _missing(name if named else None, "required")
                continue
            try:
                validated[name] = field(value)
            except Invalid as error:
                errors[name] = error.detail
        if errors:
            raise Invalid(errors)
        if keep and len(validated) < len(data):
            validated.update((key, value) for key, value in data.items() if value is not None and key not in fields)
        return validated

    return check


def then(check: Check, *rules: Check) -> Check:
    """``check``, then rules on its result (a serializer's ``validate_<field>``)."""

    def chained(data: Any) -> Any:
        value = check(data)
        for rule in rules:
            value = rule(value)
        return value

    return chained
