"""core.api.fields.ShallowFieldCopiesMixin: each serializer binds its own copies of the fields."""

from rest_framework import serializers

from core.api.fields import ShallowFieldCopiesMixin
from sessions_app.api.check_in_serializers import CheckInInputSerializer, VerdictSerializer


class _Deep(serializers.Serializer):
    name = serializers.CharField(max_length=3)
    count = serializers.IntegerField(min_value=0)


class _Shallow(ShallowFieldCopiesMixin, _Deep):
    pass


def test_each_instance_binds_its_own_copies_and_the_declared_fields_stay_unbound():
    one, two = _Shallow(data={"name": "abc", "count": 1}), _Shallow(data={"name": "x", "count": 2})
    assert one.fields["name"] is not two.fields["name"]
    assert one.fields["name"].parent is one and two.fields["name"].parent is two
    declared = _Shallow._declared_fields["name"]
    assert declared.field_name is None and declared.__dict__.get("parent") is None


def test_validation_and_errors_are_the_deep_copies_own():
    for data in ({"name": "abc", "count": 1}, {"name": "abcd", "count": -1}, {"count": "x"}, {}):
        deep, shallow = _Deep(data=data), _Shallow(data=data)
        assert deep.is_valid() == shallow.is_valid()
        assert deep.errors == shallow.errors
        assert dict(deep.validated_data) == dict(shallow.validated_data)


def test_the_door_serializers_still_validate_and_render_the_same():
    bad = CheckInInputSerializer(data={"participant": "nope", "ticket_code": "A", "x": 1})
    assert not bad.is_valid()
    assert bad.errors == {"x": ["Unknown field."]}
    two = CheckInInputSerializer(data={"participant": "0" * 24, "ticket_code": "ABCD"})
    assert not two.is_valid()
    assert two.errors == {
        "non_field_errors": ["Give exactly one of 'participant' or 'ticket_code'."]
    }
    short = CheckInInputSerializer(data={"participant": "0" * 23})
    assert not short.is_valid() and list(short.errors) == ["participant"]
    good = CheckInInputSerializer(data={"participant": "0" * 24, "nonce": "n1"})
    assert good.is_valid(), good.errors
    assert dict(good.validated_data) == {"participant": "0" * 24, "nonce": "n1"}
    assert set(VerdictSerializer().fields) == set(VerdictSerializer._declared_fields)
