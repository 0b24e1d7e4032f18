"""Test against a strict in-process fake of the Linq API, instead of the real one.

`FakeLinqServer` is a real ``aiohttp`` server on ``127.0.0.1`` (free ports unless
you pass ``port=`` for the API). It checks every request against the documented rules,
answers with the documented shapes and errors, records what it was sent, and can inject
faults:

```python
from linq_async.testing import FakeLinqServer

async def test_send() -> None:
    async with FakeLinqServer() as fake:
        ...  # point your client at fake.base_url with fake.api_key
        assert len(fake.messages) == 1
```

To have a real S3 endpoint grade the uploads instead of the fake's own storage host, pass
``FakeLinqServer(s3=S3Target(...))`` (or ``storage=S3Storage(...)``).

"""

from __future__ import annotations

from ._routes_account import (
    FakeAccount,
    FakeBlockedHandle,
    FakeContactCard,
    FakeLine,
    FakeReputationAudit,
)
from ._routes_chats import FakeChatActivity, FakeLocationShare
from ._routes_messages import FakeEdit, FakePoll, FakePollOption, FakeReaction
from ._routes_payments import FakeHandleConnection, FakePayment, FakePaymentRequest
from ._s3 import S3Storage
from ._server import FakeLinqServer
from ._sigv4 import S3Target
from ._state import FakeAttachment, FakeChat, FakeMessage, RecordedRequest
from ._storage import PresignedUpload, UploadStorage
from ._webhooks import DeliveryAttempt, FakeSubscription, FakeWebhooks, WebhookDelivery

__all__ = [
    "DeliveryAttempt",
    "FakeAccount",
    "FakeAttachment",
    "FakeBlockedHandle",
    "FakeChat",
    "FakeChatActivity",
    "FakeContactCard",
    "FakeEdit",
    "FakeHandleConnection",
    "FakeLine",
    "FakeLinqServer",
    "FakeLocationShare",
    "FakeMessage",
    "FakePayment",
    "FakePaymentRequest",
    "FakePoll",
    "FakePollOption",
    "FakeReaction",
    "FakeReputationAudit",
    "FakeSubscription",
    "FakeWebhooks",
    "PresignedUpload",
    "RecordedRequest",
    "S3Storage",
    "S3Target",
    "UploadStorage",
    "WebhookDelivery",
]
