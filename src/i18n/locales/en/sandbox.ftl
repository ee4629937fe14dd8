# The sandbox (`b24wa sandbox`, the admin app's Sandbox page): what each hop in its trace is.
# Method and event names stay as the APIs spell them.

sandbox-business-name = Your company
sandbox-transport-gateway = Web gateway
sandbox-transport-cloud = Cloud API
sandbox-transport-evolution = Web gateway (Evolution API)

## A hop delivered again ($text: the hop, $attempt: 2, 3, …)
sandbox-trace-attempt = { $text } (attempt { $attempt })

## WhatsApp → b24wa (webhooks)
sandbox-trace-customer-message = the customer's message (webhook)
sandbox-trace-customer-voice = the customer's voice note (webhook)
sandbox-trace-customer-edited = the customer edited a message
sandbox-trace-customer-deleted = the customer deleted a message
sandbox-trace-customer-button = the customer tapped a template's button (webhook)
# $status: the provider's own status name (sent, delivered, read, …)
sandbox-trace-receipt = receipt: the phone reports { $status }
sandbox-trace-receipt-any = receipt from the phone
sandbox-trace-failed = status: WhatsApp reports the message failed
# $state: the gateway's own session state name (authorized, notAuthorized, …)
sandbox-trace-session = the phone's session is { $state }
sandbox-trace-session-changed = the phone's session changed

## b24wa → WhatsApp (calls)
sandbox-trace-gw-send = sendMessage: the operator's reply goes to the phone
sandbox-trace-gw-file = sendFileByUrl: the operator's file goes to the phone
sandbox-trace-gw-edit = editMessage: the operator's edit is applied in WhatsApp
sandbox-trace-gw-delete = deleteMessage: deleted for everyone in WhatsApp
sandbox-trace-gw-read = readChat: the customer's messages are marked read
sandbox-trace-gw-download = downloadFile: a fresh link to the customer's file
sandbox-trace-cloud-templates = GET message_templates: the account's templates are synced
sandbox-trace-cloud-read = POST messages: the customer's messages are marked read
# $name: the template's name
sandbox-trace-cloud-template = POST messages: template { $name } goes to the phone
sandbox-trace-cloud-text = POST messages: the operator's text goes to the phone
# $kind: the Cloud API's message type (image, document, audio, video, …)
sandbox-trace-cloud-media = POST messages: the operator's { $kind } goes to the phone

## b24wa → Bitrix24 (calls) and Bitrix24 → b24wa (events)
sandbox-trace-b24-send = imconnector.send.messages: the customer's message enters the Open Line
sandbox-trace-b24-update = imconnector.update.messages: the message is updated (an edit or a transcript)
sandbox-trace-b24-delete = imconnector.delete.messages: the customer's delete is mirrored
sandbox-trace-b24-delivered = imconnector.send.status.delivery: the operator's reply shows delivered
sandbox-trace-b24-read = imconnector.send.status.reading: the operator's reply shows read
sandbox-trace-b24-notice = im.message.add: a notice for the operator
sandbox-trace-event-add = event OnImConnectorMessageAdd: the operator replied
sandbox-trace-event-update = event OnImConnectorMessageUpdate: the operator edited
sandbox-trace-event-delete = event OnImConnectorMessageDelete: the operator deleted

## b24wa → WhatsApp on Evolution API (calls; `b24wa sandbox --gateway evolution`)
sandbox-trace-evo-send = sendText: the operator's reply goes to the phone
sandbox-trace-evo-file = sendMedia: the operator's file goes to the phone
sandbox-trace-evo-edit = updateMessage: the operator's edit is applied in WhatsApp
sandbox-trace-evo-delete = deleteMessageForEveryone: deleted for everyone in WhatsApp
sandbox-trace-evo-read = markMessageAsRead: the customer's messages are marked read
sandbox-trace-evo-download = getBase64FromMediaMessage: the customer's file is fetched
