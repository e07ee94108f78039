"""Stand-ins the tests run the product against: fake exchange servers speaking the real exchanges' HTTP APIs.

Django-free and never imported by product code (the import contract in setup.cfg forbids it): the real ccxt
classes talk HTTP to these servers, so the engine's exchange paths are tested through the very client they use.
"""
