# Ответы на команду оператора /template в чате Открытых линий.

cmd-template-how = Чтобы отправить шаблон, напишите: /template <название> [язык] <значение 1> | <значение 2> …
cmd-template-unknown = У этого номера нет шаблона «{ $name }».
cmd-template-none-approved = { $head } У этого номера пока нет одобренных шаблонов: создайте их в WhatsApp Manager, затем синхронизируйте в приложении b24wa.
cmd-template-approved = { $head } Одобренные шаблоны (название, язык, число значений): { $list }.
cmd-template-choose-language = Не отправлено: шаблон «{ $name }» есть на нескольких языках ({ $languages }). Укажите язык после названия: /template { $name } { $first } …
cmd-template-not-approved = Не отправлено: шаблон «{ $name }» ({ $language }) в статусе { $status }, а WhatsApp отправляет только одобренные шаблоны.
cmd-template-wrong-count = Не отправлено: шаблону «{ $name }» нужно { $count ->
    [one] { $count } значение
    [few] { $count } значения
   *[many] { $count } значений
} ({ $variables }) через |; указано: { $given }.
cmd-template-not-by-command = Не отправлено: шаблон «{ $name }» нельзя отправить командой: { $why }.
cmd-template-media-header = в его заголовке картинка, видео или документ
cmd-template-button-value = одной из его кнопок нужно значение
cmd-template-not-on-gateway = Шаблоны нужны только для номеров WhatsApp Cloud API. Этот номер — привязанный телефон (веб-шлюз): 24-часового окна у него нет, просто напишите сообщение.
cmd-template-shown = Шаблон «{ $name }» ({ $language }) отправлен клиенту:
