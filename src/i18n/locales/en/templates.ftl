# The answers to an operator's /template command in the Open Lines chat.

cmd-template-how = Send a template with: /template <name> [language] <value 1> | <value 2> …
cmd-template-unknown = There is no template named "{ $name }" for this number.
cmd-template-none-approved = { $head } This number has no approved templates yet: create them in WhatsApp Manager, then sync them in the b24wa admin app.
cmd-template-approved = { $head } Approved templates (name, language, number of values): { $list }.
cmd-template-choose-language = Not sent: the template "{ $name }" exists in several languages ({ $languages }). Name one after the template: /template { $name } { $first } …
cmd-template-not-approved = Not sent: the template "{ $name }" ({ $language }) is { $status }, and WhatsApp sends only approved templates.
cmd-template-wrong-count = Not sent: the template "{ $name }" needs { $count } value(s) ({ $variables }), separated by |; { $given } given.
cmd-template-not-by-command = Not sent: the template "{ $name }" cannot be sent by command: { $why }.
cmd-template-media-header = its header is a picture, video or document
cmd-template-button-value = one of its buttons needs a value
cmd-template-not-on-gateway = Templates are for WhatsApp Cloud API numbers. This number is a linked phone (Web gateway): it has no 24-hour window, so just write your message.
cmd-template-shown = Template "{ $name }" ({ $language }) to the customer:
