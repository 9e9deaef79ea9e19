"""Events to handlers: one module per AWS event source, each handed the handler it runs (a consumer,
subscription handler, watcher, stream handler, schedule, WebSocket API, HTTP API) and a usage counter,
never an App to search. Lambda (through ``strato.entry``) and the local runtime call the same functions.
"""
