"""Operations of ``messaging-api.yml`` (line/line-openapi, see ``SOURCE`` in the spec
directory), for routing when that file is not available.

Generated from the document: operationId -> (method, path template, request body schema).
``tests/emulators/test_line_validation.py`` checks it still matches the document whenever
the document is present. The request schema names are also the class names of the SDK's
generated models (``linebot.v3.messaging.<Name>``), which validate bodies in that mode.
"""
from __future__ import annotations

from typing import Any

ROUTES: dict[str, tuple[str, str, str | None]] = {
    "getWebhookEndpoint": ("get", "/v2/bot/channel/webhook/endpoint", None),
    "setWebhookEndpoint": ("put", "/v2/bot/channel/webhook/endpoint", "SetWebhookEndpointRequest"),
    "testWebhookEndpoint": ("post", "/v2/bot/channel/webhook/test", "TestWebhookEndpointRequest"),
    "getMessageContent": ("get", "/v2/bot/message/{messageId}/content", None),
    "getMessageContentPreview": ("get", "/v2/bot/message/{messageId}/content/preview", None),
    "getMessageContentTranscodingByMessageId": ("get", "/v2/bot/message/{messageId}/content/transcoding", None),
    "replyMessage": ("post", "/v2/bot/message/reply", "ReplyMessageRequest"),
    "pushMessage": ("post", "/v2/bot/message/push", "PushMessageRequest"),
    "multicast": ("post", "/v2/bot/message/multicast", "MulticastRequest"),
    "narrowcast": ("post", "/v2/bot/message/narrowcast", "NarrowcastRequest"),
    "getNarrowcastProgress": ("get", "/v2/bot/message/progress/narrowcast", None),
    "broadcast": ("post", "/v2/bot/message/broadcast", "BroadcastRequest"),
    "getMessageQuota": ("get", "/v2/bot/message/quota", None),
    "getMessageQuotaConsumption": ("get", "/v2/bot/message/quota/consumption", None),
    "getNumberOfSentReplyMessages": ("get", "/v2/bot/message/delivery/reply", None),
    "getNumberOfSentPushMessages": ("get", "/v2/bot/message/delivery/push", None),
    "getNumberOfSentMulticastMessages": ("get", "/v2/bot/message/delivery/multicast", None),
    "getNumberOfSentBroadcastMessages": ("get", "/v2/bot/message/delivery/broadcast", None),
    "validateReply": ("post", "/v2/bot/message/validate/reply", "ValidateMessageRequest"),
    "validatePush": ("post", "/v2/bot/message/validate/push", "ValidateMessageRequest"),
    "validateMulticast": ("post", "/v2/bot/message/validate/multicast", "ValidateMessageRequest"),
    "validateNarrowcast": ("post", "/v2/bot/message/validate/narrowcast", "ValidateMessageRequest"),
    "validateBroadcast": ("post", "/v2/bot/message/validate/broadcast", "ValidateMessageRequest"),
    "getAggregationUnitUsage": ("get", "/v2/bot/message/aggregation/info", None),
    "getAggregationUnitNameList": ("get", "/v2/bot/message/aggregation/list", None),
    "getProfile": ("get", "/v2/bot/profile/{userId}", None),
    "getFollowers": ("get", "/v2/bot/followers/ids", None),
    "getBotInfo": ("get", "/v2/bot/info", None),
    "getGroupMemberProfile": ("get", "/v2/bot/group/{groupId}/member/{userId}", None),
    "getRoomMemberProfile": ("get", "/v2/bot/room/{roomId}/member/{userId}", None),
    "getGroupMembersIds": ("get", "/v2/bot/group/{groupId}/members/ids", None),
    "getRoomMembersIds": ("get", "/v2/bot/room/{roomId}/members/ids", None),
    "leaveGroup": ("post", "/v2/bot/group/{groupId}/leave", None),
    "leaveRoom": ("post", "/v2/bot/room/{roomId}/leave", None),
    "getGroupSummary": ("get", "/v2/bot/group/{groupId}/summary", None),
    "getGroupMemberCount": ("get", "/v2/bot/group/{groupId}/members/count", None),
    "getRoomMemberCount": ("get", "/v2/bot/room/{roomId}/members/count", None),
    "createRichMenu": ("post", "/v2/bot/richmenu", "RichMenuRequest"),
    "validateRichMenuObject": ("post", "/v2/bot/richmenu/validate", "RichMenuRequest"),
    "getRichMenuImage": ("get", "/v2/bot/richmenu/{richMenuId}/content", None),
    "setRichMenuImage": ("post", "/v2/bot/richmenu/{richMenuId}/content", None),
    "getRichMenu": ("get", "/v2/bot/richmenu/{richMenuId}", None),
    "deleteRichMenu": ("delete", "/v2/bot/richmenu/{richMenuId}", None),
    "getRichMenuList": ("get", "/v2/bot/richmenu/list", None),
    "setDefaultRichMenu": ("post", "/v2/bot/user/all/richmenu/{richMenuId}", None),
    "getDefaultRichMenuId": ("get", "/v2/bot/user/all/richmenu", None),
    "cancelDefaultRichMenu": ("delete", "/v2/bot/user/all/richmenu", None),
    "createRichMenuAlias": ("post", "/v2/bot/richmenu/alias", "CreateRichMenuAliasRequest"),
    "getRichMenuAlias": ("get", "/v2/bot/richmenu/alias/{richMenuAliasId}", None),
    "updateRichMenuAlias": ("post", "/v2/bot/richmenu/alias/{richMenuAliasId}", "UpdateRichMenuAliasRequest"),
    "deleteRichMenuAlias": ("delete", "/v2/bot/richmenu/alias/{richMenuAliasId}", None),
    "getRichMenuAliasList": ("get", "/v2/bot/richmenu/alias/list", None),
    "getRichMenuIdOfUser": ("get", "/v2/bot/user/{userId}/richmenu", None),
    "unlinkRichMenuIdFromUser": ("delete", "/v2/bot/user/{userId}/richmenu", None),
    "linkRichMenuIdToUser": ("post", "/v2/bot/user/{userId}/richmenu/{richMenuId}", None),
    "linkRichMenuIdToUsers": ("post", "/v2/bot/richmenu/bulk/link", "RichMenuBulkLinkRequest"),
    "unlinkRichMenuIdFromUsers": ("post", "/v2/bot/richmenu/bulk/unlink", "RichMenuBulkUnlinkRequest"),
    "richMenuBatch": ("post", "/v2/bot/richmenu/batch", "RichMenuBatchRequest"),
    "validateRichMenuBatchRequest": ("post", "/v2/bot/richmenu/validate/batch", "RichMenuBatchRequest"),
    "getRichMenuBatchProgress": ("get", "/v2/bot/richmenu/progress/batch", None),
    "issueLinkToken": ("post", "/v2/bot/user/{userId}/linkToken", None),
    "markMessagesAsRead": ("post", "/v2/bot/message/markAsRead", "MarkMessagesAsReadRequest"),
    "pushMessagesByPhone": ("post", "/bot/pnp/push", "PnpMessagesRequest"),
    "getPNPMessageStatistics": ("get", "/v2/bot/message/delivery/pnp", None),
    "getMembershipSubscription": ("get", "/v2/bot/membership/subscription/{userId}", None),
    "getMembershipList": ("get", "/v2/bot/membership/list", None),
    "getJoinedMembershipUsers": ("get", "/v2/bot/membership/{membershipId}/users/ids", None),
    "listCoupon": ("get", "/v2/bot/coupon", None),
    "createCoupon": ("post", "/v2/bot/coupon", "CouponCreateRequest"),
    "getCouponDetail": ("get", "/v2/bot/coupon/{couponId}", None),
    "closeCoupon": ("put", "/v2/bot/coupon/{couponId}/close", None),
    "showLoadingAnimation": ("post", "/v2/bot/chat/loading/start", "ShowLoadingAnimationRequest"),
    "markMessagesAsReadByToken": ("post", "/v2/bot/chat/markAsRead", "MarkMessagesAsReadByTokenRequest"),
}


def routes_document() -> dict[str, Any]:
    """A minimal OpenAPI ``paths`` document of :data:`ROUTES` (for :class:`SpecIndex`)."""
    paths: dict[str, Any] = {}
    for operation_id, (method, path, schema) in ROUTES.items():
        op: dict[str, Any] = {"operationId": operation_id}
        if schema is not None:
            op["requestBody"] = {"content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"}}}}
        paths.setdefault(path, {})[method] = op
    return {"paths": paths}
