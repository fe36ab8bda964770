"""The chaos doors that scan as paired door devices: their admissions carry their device.

Half the driver's doors are door devices (added and paired over the API at set-up, scoped to the
run's sessions) and send ``Authorization: Device <token>``. Their refusals are judged with every
other door's (``check_verdicts``: a 401 or 403 is unexpected); here, that each admission a device
was answered (201) is in the scan log under that device: its nonce's entry names the device
(the entry is the nonce claim, written before the decision, so a fault cannot leave it out).
"""

from __future__ import annotations

from chaos.run_data import CheckResult, RunData, traffic

SCANS = "sessions_app_scan"


def device_scan_nonces(db) -> set[tuple[str, str]]:
    """Return (device id, nonce) of every scan-log entry a door device made (MongoDB)."""
    rows = db[SCANS].find(
        {"device_id": {"$ne": None}, "nonce": {"$ne": ""}}, {"device_id": 1, "nonce": 1}
    )
    return {(str(row["device_id"]), row["nonce"]) for row in rows}


def check_device_scans(data: RunData) -> list[CheckResult]:
    """Every 201 answered to a device door is an entry of that device in the scan log."""
    if data.device_scans is None:
        return []
    requests = [r for r in traffic(data) if r.device]
    admitted = {(r.device, r.nonce) for r in requests if r.op == "check_in" and r.status == 201}
    missing = admitted - data.device_scans
    devices = {device for device, _nonce in admitted}
    return [
        CheckResult(
            "paired door devices' admissions are logged with their device",
            bool(admitted) and not missing,
            f"{len(devices)} devices, {len(requests)} requests, {len(admitted)} admitted (201); "
            + (
                f"{len(missing)} not in the scan log under their device"
                if missing
                else "each in the scan log"
            ),
        )
    ]
