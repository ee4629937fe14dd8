# Песочница (`b24wa sandbox`, страница «Песочница» в админке): что означает каждый шаг в её трассировке.
# Имена методов и событий — как их пишут сами API.

sandbox-business-name = Ваша компания
sandbox-transport-gateway = Веб-шлюз
sandbox-transport-cloud = Cloud API
sandbox-transport-evolution = Веб-шлюз (Evolution API)

## Шаг, доставленный повторно ($text — шаг, $attempt — 2, 3, …)
sandbox-trace-attempt = { $text } (попытка { $attempt })

## WhatsApp → b24wa (вебхуки)
sandbox-trace-customer-message = сообщение клиента (вебхук)
sandbox-trace-customer-voice = голосовое сообщение клиента (вебхук)
sandbox-trace-customer-edited = клиент изменил сообщение
sandbox-trace-customer-deleted = клиент удалил сообщение
sandbox-trace-customer-button = клиент нажал кнопку шаблона (вебхук)
# $status — статус в терминах провайдера (sent, delivered, read, …)
sandbox-trace-receipt = отчёт о доставке: телефон сообщает { $status }
sandbox-trace-receipt-any = отчёт о доставке от телефона
sandbox-trace-failed = статус: WhatsApp сообщает, что сообщение не доставлено
# $state — состояние сессии в терминах шлюза (authorized, notAuthorized, …)
sandbox-trace-session = сессия телефона: { $state }
sandbox-trace-session-changed = сессия телефона изменилась

## b24wa → WhatsApp (вызовы)
sandbox-trace-gw-send = sendMessage: ответ оператора уходит на телефон
sandbox-trace-gw-file = sendFileByUrl: файл оператора уходит на телефон
sandbox-trace-gw-edit = editMessage: правка оператора применяется в WhatsApp
sandbox-trace-gw-delete = deleteMessage: удалено у всех в WhatsApp
sandbox-trace-gw-read = readChat: сообщения клиента отмечены прочитанными
sandbox-trace-gw-download = downloadFile: новая ссылка на файл клиента
sandbox-trace-cloud-templates = GET message_templates: шаблоны аккаунта синхронизированы
sandbox-trace-cloud-read = POST messages: сообщения клиента отмечены прочитанными
# $name — название шаблона
sandbox-trace-cloud-template = POST messages: шаблон { $name } уходит на телефон
sandbox-trace-cloud-text = POST messages: текст оператора уходит на телефон
# $kind — тип сообщения Cloud API (image, document, audio, video, …)
sandbox-trace-cloud-media = POST messages: вложение оператора ({ $kind }) уходит на телефон

## b24wa → Битрикс24 (вызовы) и Битрикс24 → b24wa (события)
sandbox-trace-b24-send = imconnector.send.messages: сообщение клиента попадает в Открытую линию
sandbox-trace-b24-update = imconnector.update.messages: сообщение обновлено (правка или расшифровка)
sandbox-trace-b24-delete = imconnector.delete.messages: удаление клиентом повторено в чате
sandbox-trace-b24-delivered = imconnector.send.status.delivery: ответ оператора отмечен доставленным
sandbox-trace-b24-read = imconnector.send.status.reading: ответ оператора отмечен прочитанным
sandbox-trace-b24-notice = im.message.add: уведомление для оператора
sandbox-trace-event-add = событие OnImConnectorMessageAdd: оператор ответил
sandbox-trace-event-update = событие OnImConnectorMessageUpdate: оператор изменил сообщение
sandbox-trace-event-delete = событие OnImConnectorMessageDelete: оператор удалил сообщение

## b24wa → WhatsApp через Evolution API (вызовы; `b24wa sandbox --gateway evolution`)
sandbox-trace-evo-send = sendText: ответ оператора уходит на телефон
sandbox-trace-evo-file = sendMedia: файл оператора уходит на телефон
sandbox-trace-evo-edit = updateMessage: правка оператора применяется в WhatsApp
sandbox-trace-evo-delete = deleteMessageForEveryone: удалено у всех в WhatsApp
sandbox-trace-evo-read = markMessageAsRead: сообщения клиента отмечены прочитанными
sandbox-trace-evo-download = getBase64FromMediaMessage: файл клиента загружен
