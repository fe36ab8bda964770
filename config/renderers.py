"""JSON rendering that writes MongoDB ObjectIds as strings."""

from bson import ObjectId
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


class ObjectIdJSONEncoder(JSONEncoder):
    """Encode ObjectId as its 24-character hex string; defer everything else to DRF."""

    def default(self, obj):
        if isinstance(obj, ObjectId):
            return str(obj)
        return super().default(obj)


class ObjectIdJSONRenderer(JSONRenderer):
    """DRF's JSON renderer with ObjectId support, so no id ever breaks a response."""

    encoder_class = ObjectIdJSONEncoder
