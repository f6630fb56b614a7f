"""InputSerializer: fields copied shallowly per instance, yet each instance's own."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics_api.kernel.request_fields import CheckField, InputSerializer, NamedMessages
from analytics_api.kernel.validation import strict_text, whole_number


class _NamedText(NamedMessages, serializers.CharField):
    pass


class _Window(InputSerializer):
    days = CheckField(check=lambda name: whole_number(name, minimum=1, maximum=7))


class _Probe(InputSerializer):
    name = CheckField(check=lambda name: strict_text(name, max_length=5))
    count = CheckField(required=False, check=lambda name: whole_number(name, minimum=0, maximum=9))
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)
    note = serializers.CharField(required=False, max_length=4)
    label = _NamedText(required=False, error_messages={"null": "label: leave it out instead of null."})
    window = _Window(required=False)

    def validate_note(self, value: str) -> str:
        # A rule reading the instance's context, as interactionDetails' time zone offset does.
        return f"{value}{self.context.get('suffix', '')}"


def _errors(data: Any, **context: Any) -> dict[str, Any]:
    probe = _Probe(data=data, context=context)
    assert not probe.is_valid()
    return dict(probe.errors)


def test_each_instance_binds_its_own_copies_and_the_declared_fields_stay_unbound() -> None:
    first, second = _Probe(data={"name": "a"}), _Probe(data={"name": "b"})

    assert first.fields["name"] is not second.fields["name"]
    assert first.fields["name"].parent is first and second.fields["name"].parent is second
    for name, declared in _Probe._declared_fields.items():
        assert declared.parent is None and declared.field_name is None, name
        assert first.fields[name] is not declared


def test_a_field_holding_children_is_deep_copied_so_its_child_belongs_to_the_copy() -> None:
    probe = _Probe(data={"name": "a", "tags": ["x"]})

    tags = probe.fields["tags"]
    assert tags.child is not _Probe._declared_fields["tags"].child
    assert tags.child.parent is tags
    assert tags.root is probe


def test_check_fields_name_themselves_in_required_and_null_without_touching_the_declared_messages() -> None:
    declared_messages = dict(_Probe._declared_fields["name"].error_messages)

    assert _errors({}) == {"name": ["name is required."]}
    assert _errors({"name": None}) == {"name": ["name must not be null."]}
    assert _Probe._declared_fields["name"].error_messages == declared_messages


def test_validation_is_the_same_on_every_instance_and_reads_each_instances_context() -> None:
    for _ in range(3):
        assert _errors({"name": "toolong", "count": 12, "tags": ["abcd"], "note": "abcde"}) == {
            "name": ["name must be a string of at most 5 characters."],
            "count": ["count must be an integer from 0 to 9."],
            "tags": {0: ["Ensure this field has no more than 3 characters."]},
            "note": ["Ensure this field has no more than 4 characters."],
        }
    plain, suffixed = _Probe(data={"name": "a", "note": "hi"}), _Probe(data={"name": "a", "note": "hi"},
                                                                       context={"suffix": "!"})
    assert plain.is_valid() and suffixed.is_valid()
    assert (plain.validated_data["note"], suffixed.validated_data["note"]) == ("hi", "hi!")


def test_a_nested_serializer_is_deep_copied_and_answers_under_its_own_fields() -> None:
    first, second = _Probe(data={"name": "a", "window": {"days": 9}}), _Probe(data={"name": "a", "window": {}})

    assert first.fields["window"] is not second.fields["window"]
    assert first.fields["window"].fields["days"] is not second.fields["window"].fields["days"]
    assert first.fields["window"].fields["days"].root is first
    assert _errors({"name": "a", "window": {"days": 9}}) == {
        "window": {"days": ["days must be an integer from 1 to 7."]}
    }
    assert _errors({"name": "a", "window": {}}) == {"window": {"days": ["days is required."]}}


def test_named_messages_name_the_field_and_keep_the_messages_it_was_given() -> None:
    declared = _Probe._declared_fields["label"]
    declared_messages = dict(declared.error_messages)

    assert _errors({"name": "a", "label": ""}) == {"label": ["label must not be empty."]}
    assert _errors({"name": "a", "label": None}) == {"label": ["label: leave it out instead of null."]}
    assert declared.error_messages == declared_messages
