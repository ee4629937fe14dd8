# Why WhatsApp did not take or deliver an operator's message, as the operator reads it in the
# Open Lines chat. $detail: what the provider said (shown as is).

wa-failed-131047 = Not delivered: more than 24 hours have passed since the customer last wrote, and WhatsApp then accepts only an approved template message. Further free messages in this chat are held back until the customer writes again (any message reopens the window).
wa-failed-131026 = Not delivered: this phone number cannot receive WhatsApp messages (it is not on WhatsApp, uses an outdated app, or has blocked this business).
wa-failed-190 = Not sent: the WhatsApp access token of this number has expired or was revoked. Messages wait until an administrator reconnects the number with a new token.
wa-failed-132000 = Not delivered: the template's values do not match its variables (WhatsApp expects a different number of values).
wa-failed-132001 = Not delivered: WhatsApp does not know this template in this language, or it is not approved. Sync the number's templates in the admin app and check its status.
wa-failed-132005 = Not delivered: the template's text is too long once its values are filled in.
wa-failed-132007 = Not delivered: WhatsApp found the filled-in template against its content policy.
wa-failed-132012 = Not delivered: a value does not have the format the template expects (for example a picture where its header wants a document).
wa-failed-132015 = Not delivered: this template is paused by WhatsApp for low quality. Use another template, or wait until it is active again.
wa-failed-132016 = Not delivered: this template was disabled by WhatsApp (paused too often). Use another template.
wa-failed-131051 = Not delivered: WhatsApp does not support this message type.
wa-failed-invalid = Not delivered: WhatsApp rejected the message as invalid ({ $detail }).
wa-failed-code = Not delivered to WhatsApp (error { $code }): { $detail }
wa-failed = Not delivered to WhatsApp: { $detail }
wa-failed-no-detail = WhatsApp reported the message as failed

## A customer's message that is not words they typed (a shared location or contact, a kind we
## cannot show); a tap is in notices.ftl.

wa-location = Location
wa-contact = Contact
wa-contact-no-name = (no name)
# $kind: location, contact, interactive, button.
wa-empty = { $kind ->
    [location] location message without coordinates
    [contact] contact card without details
    [interactive] interactive reply
   *[button] button reply
}
# $kind: WhatsApp's name for the kind of message (poll, order, …).
wa-unsupported = { $kind } message: this type cannot be shown here; see it in WhatsApp
