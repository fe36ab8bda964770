"""The ``Device`` authentication scheme in the OpenAPI schema (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """Document ``Authorization: Device <token>`` (docs/devices.md)."""

    target_class = "devices_app.authentication.DeviceTokenAuthentication"
    name = "deviceAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A paired door device: `Device <token>` (from `POST /api/devices/pair/`). "
            "Check-in and check-out at its sessions only.",
        }
