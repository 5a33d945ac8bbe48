"""A python-socketio client the Rust tests steer: commands in on stdin, JSON lines out.

The tests need a standard Socket.IO client that nobody here wrote; this file only wires the
official python-socketio AsyncClient to pipes. Start it with the venv's python
(scripts/socketio-client makes .local/venv) and one argument, a JSON object:

    {"url": "http://127.0.0.1:8080", "namespace": "/chat", "transports": ["websocket"]}

(`transports` is optional: python-socketio's default is polling, then an upgrade to
WebSocket.) Then write one JSON command per line on stdin:

    {"op": "connect", "auth": {"token": "..."}}
    {"op": "emit", "ref": "r1", "event": "join", "data": {...}, "timeout": 10}
    {"op": "burst", "ref": "b1", "event": "typing", "data": {...}, "count": 60}
    {"op": "send", "ref": "s1", "event": "message", "data": {...}}   no ack asked
    {"op": "disconnect"}

and read one JSON object per line on stdout:

    {"type": "connected", "sid": "..."}
    {"type": "connect_error", "data": ...}             the server refused the handshake
    {"type": "ack", "ref": "r1", "data": ..., "sent_ns": N, "acked_ns": N}
    {"type": "ack_timeout", "ref": "r1"}                no ack within `timeout` seconds
    {"type": "burst", "ref": "b1", "acks": [...]}      every ack of `count` concurrent emits
    {"type": "sent", "ref": "s1"}                       handed to the transport
    {"type": "event", "event": "message", "data": ..., "at_ns": N}
    {"type": "disconnect", "reason": "..."}
    {"type": "error", "detail": "..."}                  a command this driver could not run

Times are time.time_ns() on this machine's clock, so two drivers' times compare. The client
never reconnects by itself: a test reconnects with another "connect" and sees every
disconnect. Closing stdin disconnects and exits.
"""

import asyncio
import json
import sys
import time

import socketio


def out(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def emit(sio, namespace, command):
    ref = command.get("ref")
    sent_ns = time.time_ns()
    try:
        data = await sio.call(
            command["event"],
            command.get("data"),
            namespace=namespace,
            timeout=command.get("timeout", 10),
        )
    except socketio.exceptions.TimeoutError:
        out({"type": "ack_timeout", "ref": ref})
        return
    except socketio.exceptions.BadNamespaceError as e:
        out({"type": "error", "ref": ref, "detail": f"not connected: {e}"})
        return
    out({"type": "ack", "ref": ref, "data": data, "sent_ns": sent_ns, "acked_ns": time.time_ns()})


async def burst(sio, namespace, command):
    async def one():
        try:
            return await sio.call(
                command["event"],
                command.get("data"),
                namespace=namespace,
                timeout=command.get("timeout", 10),
            )
        except socketio.exceptions.TimeoutError:
            return {"timeout": True}
        except socketio.exceptions.BadNamespaceError:
            return {"disconnected": True}

    acks = await asyncio.gather(*(one() for _ in range(command["count"])))
    out({"type": "burst", "ref": command.get("ref"), "acks": acks})


async def main():
    options = json.loads(sys.argv[1])
    url = options["url"]
    namespace = options.get("namespace", "/chat")
    transports = options.get("transports")
    sio = socketio.AsyncClient(reconnection=False)

    @sio.event(namespace=namespace)
    async def connect():
        out({"type": "connected", "sid": sio.get_sid(namespace)})

    @sio.event(namespace=namespace)
    async def connect_error(data):
        out({"type": "connect_error", "data": data})

    @sio.event(namespace=namespace)
    async def disconnect(reason=None):
        out({"type": "disconnect", "reason": str(reason)})

    @sio.on("*", namespace=namespace)
    async def any_event(event, data=None):
        out({"type": "event", "event": event, "data": data, "at_ns": time.time_ns()})

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pending = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        try:
            command = json.loads(line)
            op = command["op"]
            if op == "connect":
                # After the server closed the namespace, the client closes its Engine.IO
                # connection in the background: let it finish before connecting again.
                for _ in range(250):
                    if sio.eio.state == "disconnected":
                        break
                    await asyncio.sleep(0.02)
                try:
                    await sio.connect(
                        url,
                        auth=command.get("auth"),
                        namespaces=[namespace],
                        transports=transports,
                        wait_timeout=command.get("timeout", 10),
                    )
                except socketio.exceptions.ConnectionError as e:
                    # connect_error has said why, when the server said anything.
                    out({"type": "connect_failed", "detail": str(e)})
            elif op == "emit":
                task = asyncio.create_task(emit(sio, namespace, command))
                pending.add(task)
                task.add_done_callback(pending.discard)
            elif op == "burst":
                task = asyncio.create_task(burst(sio, namespace, command))
                pending.add(task)
                task.add_done_callback(pending.discard)
            elif op == "send":
                await sio.emit(command["event"], command.get("data"), namespace=namespace)
                out({"type": "sent", "ref": command.get("ref")})
            elif op == "disconnect":
                await sio.disconnect()
            else:
                out({"type": "error", "detail": f"unknown op {op!r}"})
        except Exception as e:  # report and go on: the test decides what a failure means
            out({"type": "error", "detail": repr(e)})
    await sio.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
