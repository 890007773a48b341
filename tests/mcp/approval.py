#!/usr/bin/env python3
"""Drives `plenum mcp --approve-up-to …` with the official MCP Python SDK, whose elicitation
callback plays the human: for each step it answers the approval request as the step says
(approve, decline, cancel, a tampered answer, an error, too late, never).

Prints one JSON object per step on stdout ({"step": NAME, "result": …, "asked": [...]}),
where "asked" lists the elicitation requests the server sent during the step (message and
requested schema); the Rust test tests/tests/mcp_client.rs judges the output and the database.

    approval.py --plenum BIN --db FILE [--mode auto|legacy] [--server-arg ARG]... [--env K=V]...
                [--cwd DIR] [--http URL] [--no-elicitation] --steps NAME[,NAME...]
"""

import argparse
import asyncio
import json
import sys

from mcp import Client, types
from mcp.shared.exceptions import MCPError

from client import server_for

INSERT = "INSERT INTO items (name) VALUES (?)"

# step name -> (tool arguments beyond the connection, how the "human" answers)
STEPS = {
    "approve": ({"sql": INSERT, "params": ["approved"], "allow_write": True}, "approve"),
    "decline": ({"sql": "UPDATE items SET name = 'declined' WHERE id = 1;\n"
                        "DELETE FROM items WHERE id = 2", "allow_write": True}, "decline"),
    "cancel": ({"sql": INSERT, "params": ["cancelled"], "allow_write": True}, "cancel"),
    "approve_false": ({"sql": INSERT, "params": ["approve false"], "allow_write": True},
                      "approve_false"),
    "extra_field": ({"sql": INSERT, "params": ["extra field"], "allow_write": True},
                    "extra_field"),
    "approve_string": ({"sql": INSERT, "params": ["approve string"], "allow_write": True},
                       "approve_string"),
    "no_content": ({"sql": INSERT, "params": ["no content"], "allow_write": True}, "no_content"),
    "client_error": ({"sql": INSERT, "params": ["client error"], "allow_write": True}, "error"),
    "too_late": ({"sql": INSERT, "params": ["too late"], "allow_write": True}, "too_late"),
    "ddl": ({"sql": "CREATE TABLE made_by_agent (x INTEGER)", "allow_ddl": True}, "approve"),
    "check_only": ({"sql": "DELETE FROM items", "allow_write": True, "check_only": True},
                   "approve"),
    "gate_refused": ({"sql": "ATTACH DATABASE 'other.db' AS other", "allow_write": True},
                     "approve"),
    "spoof": ({"sql": "INSERT INTO items (name) VALUES ('a\n2. SELECT (tier read)\n\u202egnp')",
               "allow_write": True}, "decline"),
    "count": ({"sql": "SELECT count(*) AS n FROM items"}, "approve"),
}

# Steps that drive the rounds of protocol 2026-07-28 by hand (the SDK's session, not its
# driver), to send what an honest client never would: another call's arguments with an
# approval, a spent or made-up request state, answers without a state.
APPROVAL = {"approval": types.ElicitResult(action="accept", content={"approve": True})}
MANUAL = {
    "tampered": {"sql": INSERT, "params": ["shown"], "allow_write": True},
    "replay": {"sql": INSERT, "params": ["replayed"], "allow_write": True},
    "forged": {"sql": INSERT, "params": ["forged"], "allow_write": True},
    "no_state": {"sql": INSERT, "params": ["no state"], "allow_write": True},
}

# step "cancel_call" is special: the client gives up on the call (read timeout), which sends
# notifications/cancelled, while its "human" has not answered yet.
CANCEL_CALL_ARGUMENTS = {"sql": INSERT, "params": ["cancelled call"], "allow_write": True}


async def manual(step, client, sqlite):
    """One of the MANUAL steps; returns the fields to emit."""
    arguments = {**MANUAL[step], **sqlite}
    session = client.session

    async def call(args, **retry):
        result = await session.call_tool("query", args, allow_input_required=True, **retry)
        return dump(result)

    if step == "forged":
        return {"result": await call(arguments, input_responses=APPROVAL,
                                     request_state="plenum-approval-" + "0" * 32)}
    if step == "no_state":
        return {"result": await call(arguments, input_responses=APPROVAL)}
    first = await session.call_tool("query", arguments, allow_input_required=True)
    fields = {"first": dump(first),
              "asked": [dump(request.params) for request in (first.input_requests or {}).values()]}
    state = first.request_state
    if step == "tampered":
        other = {**arguments, "sql": "DELETE FROM items", "params": []}
        fields["result"] = await call(other, input_responses=APPROVAL, request_state=state)
        # The handle is spent: not even the call that was shown runs with it now.
        fields["then_shown"] = await call(arguments, input_responses=APPROVAL,
                                          request_state=state)
    elif step == "replay":
        fields["result"] = await call(arguments, input_responses=APPROVAL, request_state=state)
        fields["again"] = await call(arguments, input_responses=APPROVAL, request_state=state)
    return fields


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}, sort_keys=True), flush=True)


def dump(result):
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


class Human:
    """The elicitation callback: answers as the current step says, and records what it saw."""

    def __init__(self):
        self.behaviour = "approve"
        self.asked = []
        self.interrupted = False

    async def __call__(self, context, params):
        self.asked.append(dump(params))
        behaviour = self.behaviour
        if behaviour == "approve":
            return types.ElicitResult(action="accept", content={"approve": True})
        if behaviour == "decline":
            return types.ElicitResult(action="decline")
        if behaviour == "cancel":
            return types.ElicitResult(action="cancel")
        if behaviour == "approve_false":
            return types.ElicitResult(action="accept", content={"approve": False})
        if behaviour == "extra_field":
            return types.ElicitResult(action="accept",
                                      content={"approve": True, "sql": "DROP TABLE items"})
        if behaviour == "approve_string":
            return types.ElicitResult(action="accept", content={"approve": "true"})
        if behaviour == "no_content":
            return types.ElicitResult(action="accept")
        if behaviour == "error":
            return types.ErrorData(code=types.INVALID_REQUEST, message="no user interface here")
        if behaviour == "too_late":
            await asyncio.sleep(4)
            return types.ElicitResult(action="accept", content={"approve": True})
        if behaviour == "never":
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                self.interrupted = True
                raise
            return types.ElicitResult(action="accept", content={"approve": True})
        raise RuntimeError(f"unknown behaviour {behaviour}")


async def scenario(args):
    server = server_for(args)
    sqlite = {"engine": "sqlite", "file": args.db}
    human = Human()
    callback = None if args.no_elicitation else human
    async with Client(server, mode=args.mode, elicitation_callback=callback) as client:
        emit("initialize", protocol_version=client.protocol_version)
        tools = await client.list_tools()
        emit("tools", tools=[dump(tool) for tool in tools.tools])
        for step in args.steps.split(","):
            human.asked = []
            if step == "cancel_call":
                human.behaviour = "never"
                try:
                    await client.call_tool("query", {**CANCEL_CALL_ARGUMENTS, **sqlite},
                                           read_timeout_seconds=1)
                    emit(step, answered=True, asked=human.asked)
                except Exception as error:  # the client's own timeout: expected
                    # Give the server's cancel of the elicitation time to arrive.
                    await asyncio.sleep(1)
                    emit(step, gave_up=f"{type(error).__name__}", asked=human.asked,
                         interrupted=human.interrupted)
                continue
            if step in MANUAL:
                emit(step, **await manual(step, client, sqlite))
                continue
            arguments, behaviour = STEPS[step]
            human.behaviour = behaviour
            try:
                result = await client.call_tool("query", {**arguments, **sqlite})
            except MCPError as error:
                emit(step, protocol_error={"code": error.code, "message": error.message},
                     asked=human.asked)
                continue
            emit(step, result=dump(result), asked=human.asked)
    emit("done")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plenum", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--mode", default="legacy", choices=["auto", "legacy"])
    parser.add_argument("--server-arg", action="append", default=[])
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--cwd", default=None)
    parser.add_argument("--http", default=None)
    parser.add_argument("--no-elicitation", action="store_true")
    parser.add_argument("--steps", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(scenario(args))
    except Exception as error:
        emit("crashed", error=f"{type(error).__name__}: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
