# The pages b24wa shows inside Bitrix24: the connector's settings page (Contact Center), the
# template picker of an Open Lines chat and the install page. They follow Bitrix24's LANG.

page-title = WhatsApp connector
page-internal-error = Something went wrong on our side. Please try again in a minute.
page-error-code = Error code:

## Install page
install-title = b24wa installed
install-done = WhatsApp connector installed.
install-next = Open Contact Center to connect a number.

## A number's state (as the admin app names them)
number-state-ok = Connected
number-state-authorized = Linked
number-state-not-authorized = Waiting for the QR code to be scanned
number-state-starting = Starting
number-state-sleep-mode = Phone offline
number-state-blocked = Blocked by WhatsApp
number-state-yellow-card = Restricted (spam)
number-state-token-invalid = Token refused

## Settings page (SETTING_CONNECTOR)
settings-not-from-bitrix24 = Open this page from your Bitrix24 Contact Center (the app is not installed on this portal, or the request did not come from it).
settings-no-line = Bitrix24 did not say which Open Line to set up. Pick a line in the Contact Center and open the connector again.
settings-session-expired = This page has expired. Close it and open the WhatsApp connector again from your Contact Center.
settings-heading = WhatsApp on Open Line { $line }
settings-connected-now = Connected now
settings-none-connected = No WhatsApp number is connected to this line yet.
settings-via-gateway = Web gateway
settings-via-cloud = WhatsApp Cloud API
settings-state = State:
settings-disconnect = Disconnect
settings-cloud-title = WhatsApp Cloud API (Meta)
settings-phone-number-id = Phone number ID
settings-access-token = Permanent access token
settings-app-secret = App secret
settings-check-and-connect = Check and connect
settings-cloud-hint = We check these with Meta before saving, then show the webhook URL and verify token to paste into your Meta app.
settings-gateway-title = WhatsApp Web gateway
settings-api-url = API URL
settings-instance-id = Instance ID
settings-instance-token = Instance API token
settings-connect-and-show-qr = Connect and show QR
settings-gateway-hint = Then scan the QR code with WhatsApp on the phone (Linked devices).
settings-phone-number-id-digits = The phone number ID is the long number Meta shows under API Setup (digits only).
settings-meta-refused = Meta refused these credentials ({ $detail }). Check the phone number ID and that the token belongs to the app that owns this number.
settings-meta-unreachable = We could not reach Meta to check these credentials. Try again in a minute.
settings-active = The connector is active on this line.
settings-activation-failed = Bitrix24 did not activate the connector on this line: { $reason }
settings-unknown-reason = unknown reason
settings-activation-pending = Bitrix24 has not confirmed the activation yet; it is retried until it does.
settings-number = Number:
settings-meta-last-step = Last step, in your Meta app (WhatsApp → Configuration → Webhook)
settings-callback-url = Callback URL:
settings-verify-token = Verify token:
settings-subscribe-messages = Subscribe to the messages field. The verify token is shown only now.
settings-link-phone = Link the phone
settings-qr-alt = QR code
settings-scan-hint = Open WhatsApp on the phone → Linked devices → Link a device, and scan this code. It refreshes by itself.
settings-linked = Linked: WhatsApp is connected.
settings-disconnected = +{ $phone } is disconnected from this line. Messages to it are no longer relayed here.

## Template picker (IM_TEXTAREA in an Open Lines chat)
picker-title = WhatsApp templates
picker-not-from-bitrix24 = Open this page from an Open Lines chat in your Bitrix24 (the app is not installed on this portal, or the request did not come from it).
picker-no-chat = Bitrix24 did not say which chat this is. Open the templates from an Open Lines chat.
picker-not-our-chat = This chat is not a WhatsApp chat of b24wa, so there are no templates to send here.
picker-number-disconnected = The WhatsApp number of this chat (+{ $phone }) is disconnected, so nothing can be sent from here.
picker-gateway-chat = No templates needed here: +{ $phone } is a linked phone (WhatsApp Web gateway). It has no 24-hour window, so just write your message.
picker-heading = Send a template
picker-from-number = from +{ $phone }
picker-no-templates = This number has no approved templates yet. Create them in WhatsApp Manager, then sync them on the Templates page of the number in the b24wa admin app.
picker-window-open = The 24-hour window is open until { $time }: you can also just write.
picker-window-closed = The 24-hour window is closed since { $time }: only a template reaches the customer now.
picker-window-never = The customer has not written yet: only a template can start the conversation.
picker-category-marketing = marketing
picker-category-utility = utility
picker-category-authentication = authentication
picker-unsendable = Can't be sent from the chat: { $why }.
picker-template = Template
picker-values = Values
picker-no-values = No values needed
picker-preview = Preview
picker-insert = Insert into message
picker-fill-every-value = Fill in every value.
picker-no-pipe = A value cannot contain the | sign.
picker-part-header = Header
picker-part-body = Body
picker-copy-this = Copy this into the message box and press Send:
picker-copy = Copy
picker-copied = Copied
picker-inserted = Inserted into the message box. Check it and press Send.
