"""MongoDB faults: SecantusDB paused (SIGSTOP) for a few seconds, or killed (SIGKILL) and started
again on the same data directory. The app is not restarted: it must answer 503
``database_unavailable`` meanwhile (within its request deadline) and recover by itself."""

from __future__ import annotations

import time

from chaos.fault_base import Fault, FaultContext, FaultEvent


def apply(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    server = ctx.stack.mongo
    if fault.kind == "mongo_pause":
        down_from = ctx.clock()
        server.pause()
        time.sleep(fault.down)
        server.resume()
        event.mongo_outage = (down_from, ctx.clock())
        event.outcome = f"SecantusDB SIGSTOP for {fault.down:.1f} s, then SIGCONT"
    elif fault.kind == "mongo_kill":
        old = server.proc.pid
        down_from = ctx.clock()
        server.kill()
        time.sleep(fault.down)
        server.start(timeout=60)  # same port, same --storage-path: the data must all be there
        event.mongo_outage = (down_from, ctx.clock())
        event.outcome = (
            f"SecantusDB pid {old} killed; started again on its data as pid {server.proc.pid}, "
            f"listening {event.mongo_outage[1] - down_from:.1f} s after the kill"
        )
    else:
        raise ValueError(fault.kind)
    event.ok = True
