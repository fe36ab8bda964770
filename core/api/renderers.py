"""The API's renderers: JSON with ObjectIds as strings; a browsable API that keeps input forms.

The browsable API's forms stay input forms after a POST, PUT or PATCH.

DRF builds the HTML form of the method just used from the serializer attached to the answer
(``response.data.serializer``): right when an endpoint answers with the serializer it reads, wrong
when its output is not its input (a check-in takes a ticket code and answers a verdict). The
form then showed the verdict's fields (reason, detail, session...), and posting it again gave 400
with "Unknown field." for each of them.
"""

from bson import ObjectId
from rest_framework import renderers
from rest_framework.request import override_method
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.utils.serializer_helpers import ReturnDict


class ObjectIdJSONEncoder(JSONEncoder):
    """Encode ObjectId as its 24-character hex string; defer everything else to DRF."""

    def default(self, obj):
        if isinstance(obj, ObjectId):
            return str(obj)
        return super().default(obj)


class ObjectIdJSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer with ObjectId support, so no id ever breaks a response."""

    encoder_class = ObjectIdJSONEncoder


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API; every form is built from the action's input serializer.

    An answer whose serializer is the input's (a 400 with field errors) still fills the form with
    what was posted; any other answer gets the fresh input form a GET shows (a new ``nonce``), or
    for PUT and PATCH the input form filled from the object just written.
    """

    def get_rendered_html_form(self, data, view, method, request):
        answered_with = getattr(data, "serializer", None)
        if answered_with is not None and request.method == method:
            form = self._input_form(view, request, method, answered_with)
            if form is not None:
                data = ReturnDict(data, serializer=form)
        return super().get_rendered_html_form(data, view, method, request)

    @staticmethod
    def _input_form(view, request, method, answered_with):
        """Return an unbound input serializer when the answer's is not the input's, else None."""
        if getattr(answered_with, "many", False) or not hasattr(view, "get_serializer_class"):
            return None
        with override_method(view, request, method):
            input_class = view.get_serializer_class()
            if isinstance(answered_with, input_class):
                return None
            instance = answered_with.instance if method in ("PUT", "PATCH") else None
            return view.get_serializer(instance=instance)
