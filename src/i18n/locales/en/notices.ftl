# What operators read in a Bitrix24 Open Lines chat: notices, notes under a customer's
# messages, the transcript label, and the /template command's answers.

## A customer's messages

quote-earlier-message = an earlier message
reaction-added = [i]reacted[/i] { $emoji } [i]to[/i] “{ $quoted }”
# $text: what was typed on the phone (BBCode)
phone-message = [i]Sent from the linked phone:[/i] { $text }
reaction-removed = [i]removed the reaction to[/i] “{ $quoted }”
# $kind: voice, audio, image, video, sticker, or anything else (a file).
file-not-relayed = { $kind ->
    [voice] Voice message
    [audio] Audio
    [image] Photo
    [video] Video
    [sticker] Sticker
   *[other] File
} not relayed: { $reason }.
file-not-relayed-unknown = unknown reason
media-expired = WhatsApp no longer has this file (media links expire after about 7 days)
media-too-large = the { $kind } is larger than we relay ({ $size }; the limit is { $max })
media-size-unknown = too large
media-download-failed = the file could not be downloaded ({ $detail })
media-gateway-gone = the gateway no longer has this file ({ $detail })
media-wrong-transport = the file came from another transport than this number's
media-attachment-gone = the attachment is no longer available on the portal (HTTP { $status })
tapped-button = Tapped the button:
chose-from-list = Chose from the list:

## Voice notes

transcript-label = 🎤 Transcript:
transcript-none = No speech was recognised in this voice message.
transcript-no-file = The voice note's file is not available for a transcript.
# $count: the note's length in seconds (unit-seconds takes it); $limit: the longest transcribed.
transcript-too-long = Voice message of { unit-seconds }: not transcribed (only notes up to { $limit ->
    [one] { $limit } second
   *[other] { $limit } seconds
} are). Listen to the file.
transcript-undecodable = This voice message could not be decoded for a transcript; listen to the file.
transcript-failed = The transcript could not be made (the speech recogniser failed); listen to the file.
transcript-used-up = 🎤 No transcript: this plan's { $minutes } transcription minutes for this month are used up.

## The plan

over-messages = This account is over its plan's { $limit } messages this month; messages still flow — ask your admin to upgrade the plan.

## The 24-hour window (Cloud API)

window-closed-since = Not sent: the 24-hour window for free messages closed on { $when } (24 hours after the customer's last message). WhatsApp now accepts only an approved template message; the conversation opens again as soon as the customer writes.
window-closed-never = Not sent: the customer has not written to this WhatsApp number yet. WhatsApp now accepts only an approved template message; the conversation opens again as soon as the customer writes.

## An operator's edits and deletes

deleted-here-gateway = Deleted here only: WhatsApp allows deleting a message for everyone only within 72 hours of sending, so the customer still sees it on their phone.
deleted-here-cloud = Deleted here only: WhatsApp (Cloud API) cannot delete a message once it is sent, so the customer still sees it on their phone.
edit-not-sent = Edit not sent: WhatsApp (Cloud API) cannot change a message once it is sent, so the customer still sees the original text. Send the correction as a new message.
delete-failed = Could not delete this message in WhatsApp ({ $why }); the customer still sees it.
edit-failed = Could not edit this message in WhatsApp ({ $why }); the customer still sees the original text.

## Sending

no-number-on-line = This message was not sent: no WhatsApp number is connected to this Open Line for this chat.
file-not-sent = The file “{ $name }” was not sent: { $why }.
file-not-fetched = it could not be fetched
file-too-large = The file “{ $name }” was not sent: it is { $size }, and WhatsApp accepts { $kind ->
    [image] an image
    [video] a video
    [audio] an audio file
   *[other] a file
} of at most { $max }.
gateway-credentials = Not sent: the WhatsApp gateway rejected this number's instance credentials. Messages wait until an administrator reconnects the number.
session-lost = WhatsApp is not linked for this number right now (the phone logged out or the session ended). Messages wait and go out in order once an administrator links the phone again by scanning the QR code.
session-lost-state = { session-lost } (state: { $state })

## Messages from the CRM

crm-sent = Sent from the CRM
crm-sent-by = Sent from the CRM by { $name }
crm-user = user { $id }
crm-as-template = as the number's default template: the 24-hour window is closed
crm-not-sent = not sent: the 24-hour window is closed

## The names Bitrix24 shows for us

b24-connector-name = WhatsApp (b24wa)
b24-provider-name = WhatsApp { $phone }
b24-provider-description = WhatsApp messages from { $phone } through b24wa
b24-picker-title = WhatsApp template
b24-picker-description = Send an approved WhatsApp template
