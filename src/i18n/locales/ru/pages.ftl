# Страницы b24wa внутри Битрикс24: настройки коннектора (Контакт-центр), выбор шаблона в чате
# Открытых линий и страница установки. Язык — из LANG, который передаёт Битрикс24.

page-title = Коннектор WhatsApp
page-internal-error = У нас что-то пошло не так. Попробуйте ещё раз через минуту.
page-error-code = Код ошибки:

## Страница установки
install-title = b24wa установлен
install-done = Коннектор WhatsApp установлен.
install-next = Чтобы подключить номер, откройте Контакт-центр.

## Состояние номера (как в приложении администратора)
number-state-ok = Подключён
number-state-authorized = Привязан
number-state-not-authorized = Ждёт сканирования QR-кода
number-state-starting = Запускается
number-state-sleep-mode = Телефон не в сети
number-state-blocked = Заблокирован WhatsApp
number-state-yellow-card = Ограничен (спам)
number-state-token-invalid = Токен отклонён

## Настройки коннектора (SETTING_CONNECTOR)
settings-not-from-bitrix24 = Откройте эту страницу из Контакт-центра вашего Битрикс24 (на этом портале приложение не установлено или запрос пришёл не от него).
settings-no-line = Битрикс24 не передал, какую открытую линию настроить. Выберите линию в Контакт-центре и откройте коннектор ещё раз.
settings-session-expired = Срок действия страницы истёк. Закройте её и снова откройте коннектор WhatsApp в Контакт-центре.
settings-heading = WhatsApp на открытой линии { $line }
settings-connected-now = Сейчас подключено
settings-none-connected = К этой линии пока не подключён ни один номер WhatsApp.
settings-via-gateway = Веб-шлюз
settings-via-cloud = WhatsApp Cloud API
settings-state = Состояние:
settings-disconnect = Отключить
settings-cloud-title = WhatsApp Cloud API (Meta)
settings-phone-number-id = ID номера телефона (Phone number ID)
settings-access-token = Постоянный маркер доступа (access token)
settings-app-secret = Секрет приложения (App secret)
settings-check-and-connect = Проверить и подключить
settings-cloud-hint = Перед сохранением мы проверим эти данные в Meta, а затем покажем URL вебхука и маркер подтверждения — их нужно вставить в настройки вашего приложения Meta.
settings-gateway-title = Веб-шлюз WhatsApp
settings-api-url = URL API
settings-instance-id = ID инстанса
settings-instance-token = API-токен инстанса
settings-connect-and-show-qr = Подключить и показать QR-код
settings-gateway-hint = Затем отсканируйте QR-код в WhatsApp на телефоне (Связанные устройства).
settings-phone-number-id-digits = ID номера телефона — длинное число, которое Meta показывает в разделе API Setup (только цифры).
settings-meta-refused = Meta не приняла эти данные ({ $detail }). Проверьте ID номера телефона и что токен принадлежит приложению, которому принадлежит этот номер.
settings-meta-unreachable = Не удалось связаться с Meta для проверки данных. Попробуйте ещё раз через минуту.
settings-active = Коннектор подключён к этой линии.
settings-activation-failed = Битрикс24 не подключил коннектор к этой линии: { $reason }
settings-unknown-reason = причина неизвестна
settings-activation-pending = Битрикс24 ещё не подтвердил подключение; попытки повторяются, пока он не подтвердит.
settings-number = Номер:
settings-meta-last-step = Последний шаг — в приложении Meta (WhatsApp → Configuration → Webhook)
settings-callback-url = URL обратного вызова (Callback URL):
settings-verify-token = Маркер подтверждения (Verify token):
settings-subscribe-messages = Подпишитесь на поле messages. Маркер подтверждения показывается только сейчас.
settings-link-phone = Привяжите телефон
settings-qr-alt = QR-код
settings-scan-hint = Откройте WhatsApp на телефоне → Связанные устройства → Привязка устройства и отсканируйте этот код. Он обновляется сам.
settings-linked = Привязан: WhatsApp подключён.
settings-disconnected = Номер +{ $phone } отключён от этой линии. Сообщения на него больше не передаются сюда.

## Выбор шаблона (IM_TEXTAREA в чате Открытых линий)
picker-title = Шаблоны WhatsApp
picker-not-from-bitrix24 = Откройте эту страницу из чата Открытых линий в вашем Битрикс24 (на этом портале приложение не установлено или запрос пришёл не от него).
picker-no-chat = Битрикс24 не передал, что это за чат. Откройте шаблоны из чата Открытых линий.
picker-not-our-chat = Это не чат WhatsApp от b24wa, поэтому шаблоны здесь отправлять некуда.
picker-number-disconnected = Номер WhatsApp этого чата (+{ $phone }) отключён, поэтому отсюда ничего нельзя отправить.
picker-gateway-chat = Шаблоны здесь не нужны: +{ $phone } — привязанный телефон (веб-шлюз WhatsApp). Окна 24 часа у него нет, просто напишите сообщение.
picker-heading = Отправить шаблон
picker-from-number = с номера +{ $phone }
picker-no-templates = У этого номера пока нет одобренных шаблонов. Создайте их в WhatsApp Manager, затем синхронизируйте на странице «Шаблоны» этого номера в приложении администратора b24wa.
picker-window-open = Окно 24 часа открыто до { $time }: можно писать и обычным сообщением.
picker-window-closed = Окно 24 часа закрыто с { $time }: сейчас до клиента дойдёт только шаблон.
picker-window-never = Клиент ещё не писал: начать диалог можно только шаблоном.
picker-category-marketing = маркетинг
picker-category-utility = сервисный
picker-category-authentication = аутентификация
picker-unsendable = Нельзя отправить из чата: { $why }.
picker-template = Шаблон
picker-values = Значения
picker-no-values = Значения не нужны
picker-preview = Предпросмотр
picker-insert = Вставить в сообщение
picker-fill-every-value = Заполните все значения.
picker-no-pipe = Значение не может содержать знак |.
picker-part-header = Заголовок
picker-part-body = Текст
picker-copy-this = Скопируйте это в поле сообщения и нажмите «Отправить»:
picker-copy = Копировать
picker-copied = Скопировано
picker-inserted = Вставлено в поле сообщения. Проверьте и нажмите «Отправить».
