"""Serve a current ClickHouse release on the native TCP protocol, for tests.

PyPI's chdb-core bundles ClickHouse (26.9) as an in-process engine. Its
clickhouse-local entry point (the extension module's one-shot query) can
listen on the native protocol: run from a directory whose config.xml sets
tcp_port and listen_host, SYSTEM START LISTEN TCP, then keep a query running
for as long as the server should live. The module is loaded on its own:
the chdb package's __init__ starts a second, embedded engine, and the two
fail with "EventNotifier is initialized twice".

Usage: python serve.py DATA_DIR   (from the directory holding config.xml)
"""
import ctypes
import importlib.machinery
import importlib.util
import os
import sys



def chdb_dir():
    """The chdb package's directory, found without importing the package."""
    spec = importlib.util.find_spec("chdb")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("chdb-core is not installed in this Python (pip install chdb-core)")
    return os.path.abspath(list(spec.submodule_search_locations)[0])


def load_chdb():
    """Load chdb's extension module without the package's __init__."""
    pkg = chdb_dir()
    so = os.path.join(pkg, "_chdb.abi3.so")
    # As chdb's __init__ does: bind the module's own allocator first.
    ctypes.CDLL(so, mode=sys.getdlopenflags() | os.RTLD_DEEPBIND)
    cwd = os.getcwd()
    os.chdir(pkg)
    try:
        loader = importlib.machinery.ExtensionFileLoader("_chdb", so)
        spec = importlib.util.spec_from_loader("_chdb", loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    finally:
        os.chdir(cwd)
    return module


def main():
    data = os.path.abspath(sys.argv[1])
    os.makedirs(data, exist_ok=True)
    chdb = load_chdb()
    # One call: a second call would initialise the engine again. The
    # sleeping query returns one row a second for about thirty years.
    res = chdb.query(
        "SYSTEM START LISTEN TCP; "
        "SELECT sleepEachRow(1) FROM numbers(1000000000) SETTINGS max_block_size = 1 FORMAT Null",
        "CSV", path=data)
    err = res.error_message() if hasattr(res, "error_message") else ""
    print("chdb server stopped:", err or res.bytes(), file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
