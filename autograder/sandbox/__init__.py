"""Students' code in a sandbox, hidden checks outside it (docs/grading.md, "Isolation"; the
design, its threat model and the upstream APIs it depends on: docs/sandbox.md).

``zygote.py``        fork server per grading worker: preloaded libraries, namespaces, new root
``kernel.py``        the zygote's client, a Popen-like kernel handle, nbclient/nbgrader glue
``protocol.py``      the wire format between the oracle and the kernel: frames, the value codec
``kernel_client.py`` ``autograder.hidden`` as the kernel sees it
``oracle.py``        runs hidden checks on proxies of the student's objects; keeps the verdicts
``loopback.py``      the oracle protocol in one process, for check authors' tests
"""
