"""The validation kit inside DRF serializers: the base of every serializer reading a request, and
fields that run a check of :mod:`analytics_api.kernel.validation` with field-named messages.

Query strings and small bodies are read by DRF serializers (their OpenAPI schema comes from them);
each field's value goes through the same checks, words and codes as ingestion's records.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics_api.kernel.validation import Check, Invalid, choice, whole_number

# Fields holding other fields: their children are bound to them, so each instance needs its own.
_NESTED = (serializers.ListField, serializers.DictField, serializers.HStoreField, serializers.BaseSerializer)


# The base of every serializer reading a request (query string or body). No docstring: the OpenAPI
# generator would give it to every subclass without one as its description.
#
# DRF builds every declared field again for every serializer instance (``copy.deepcopy``: each field
# re-created from deep copies of its arguments), which was 60% of validating an interactionDetails
# request (measured in process: 357 µs with it, 188 µs without). Binding a field to its serializer
# only sets the copy's own attributes (name, parent, label, source), so a shallow copy of the class's
# never-bound field serves as well; a field holding children (a list's item field, a nested
# serializer) is still deep-copied, its children being bound to it.
class InputSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field) if isinstance(field, _NESTED) else _shallow_copy(field)
            for name, field in self._declared_fields.items()
        }


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    """``copy.copy(field)`` without its generic protocol (``__reduce_ex__``), a third of the time left."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class NamedMessages:
    """Mixin for DRF fields: the ``required``/``null``/``blank`` messages name the field, as ingestion's do.

    Messages given as ``error_messages=`` are kept. The named dict is built once per field name and
    assigned, never written into: an InputSerializer's fields are shallow copies of the class's, so
    the cache is shared by every copy and the class field's own messages stay as they were.
    """

    error_messages: dict[str, str]

    def __init__(self, **kwargs: Any) -> None:
        self.explicit_messages = frozenset(kwargs.get("error_messages", {}))
        self._named_messages: dict[str, dict[str, str]] = {}
        super().__init__(**kwargs)

    def bind(self, field_name: str, parent: Any) -> None:
        super().bind(field_name, parent)  # type: ignore[misc]
        messages = self._named_messages.get(field_name)
        if messages is None:
            named = {
                "required": f"{field_name} is required.",
                "null": f"{field_name} must not be null.",
                "blank": f"{field_name} must not be empty.",
            }
            messages = self._named_messages[field_name] = {
                **self.error_messages, **{key: msg for key, msg in named.items() if key not in self.explicit_messages}
            }
        self.error_messages = messages


class CheckField(NamedMessages, serializers.Field):
    """A DRF serializer field running a check of the validation kit, with the messages of :class:`NamedMessages`.

    For the request parameters that DRF serializers read (query strings, small bodies): they then
    answer in the same words and codes as ingestion. ``check(name)`` builds the field's check from
    its name once it is bound; subclasses set it, or pass ``check=``.
    """

    def __init__(
        self, *, check: Callable[[str], Check] | None = None, schema: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self._checks: dict[str, Check] = {}
        if check is not None:
            self.check = check  # type: ignore[method-assign]
        if schema is not None:
            # The OpenAPI type of this field, on the instance (DRF re-creates fields from their arguments).
            extend_schema_field(schema)(self)
        super().__init__(**kwargs)

    def check(self, name: str) -> Check:
        raise NotImplementedError

    def bind(self, field_name: str, parent: Any) -> None:
        super().bind(field_name, parent)
        # Built once per name and shared by the copies, like the messages: a check is a pure function of the name.
        check = self._checks.get(field_name)
        if check is None:
            check = self._checks[field_name] = self.check(field_name)
        self._check = check

    def to_internal_value(self, data: Any) -> Any:
        try:
            return self._check(data)
        except Invalid as error:
            raise serializers.ValidationError(error.detail) from None

    def to_representation(self, value: Any) -> Any:
        return value


class NumberField(CheckField):
    """An integer parameter: :func:`whole_number` (``invalid`` / ``out_of_range``), documented with its bounds.

    ``from_text`` for a query string; ``allow_null`` takes ``null`` (a body's "none").
    """

    def __init__(
        self,
        *,
        minimum: int,
        maximum: int | None = None,
        from_text: bool = False,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        schema: dict[str, Any] = {"type": "integer", "minimum": minimum}
        if maximum is not None:
            schema["maximum"] = maximum

        def check(name: str) -> Check:
            return whole_number(name, minimum=minimum, maximum=maximum, from_text=from_text, message=message)

        super().__init__(check=check, schema=schema, **kwargs)


class ChoiceParam(CheckField):
    """One of ``choices`` (code ``invalid_choice``), documented as an enum; ``message`` says what to send."""

    def __init__(self, *, choices: Collection[str], message: str, **kwargs: Any) -> None:
        schema = {"type": "string", "enum": list(choices)}
        super().__init__(check=lambda name: choice(*choices, message=message), schema=schema, **kwargs)
