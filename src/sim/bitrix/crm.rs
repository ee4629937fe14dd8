//! Conversations (one per connector, line, chat and user, with its Bitrix24 chat and session)
//! and the CRM contacts they create by phone.

use super::params::{digits_phone, sval};
use super::*;

impl BitrixState {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conversation(
        &mut self,
        c: &str,
        l: &str,
        cid: &str,
        uid: &str,
        user: &Value,
        message: &Value,
        key: &str,
    ) -> Conversation {
        let contact_id = self.contact_for(user, message);
        if let Some(x) = self.conversations.iter_mut().find(|x| x.key == key) {
            if x.contact_id.is_none() {
                x.contact_id = contact_id;
            }
            return x.clone();
        }
        let ukey = (c.to_string(), uid.to_string());
        let b24_user_id = match self.b24_users.get(&ukey) {
            Some(u) => u.clone(),
            None => {
                let u = self.next(580);
                self.b24_users.insert(ukey, u.clone());
                u
            }
        };
        let conv = Conversation {
            key: key.into(),
            connector: c.into(),
            line: l.into(),
            chat_id: cid.into(),
            user_id: uid.into(),
            session_id: self.next(320),
            b24_chat_id: self.next(1760),
            b24_user_id,
            contact_id,
        };
        self.conversations.push(conv.clone());
        conv
    }

    pub(super) fn contact_for(&mut self, user: &Value, message: &Value) -> Option<String> {
        let phone = sval(user.get("phone"));
        let digits = digits_phone(&phone);
        if digits.is_empty() || sval(message.get("disable_crm")).eq_ignore_ascii_case("Y") {
            return None;
        }
        if let Some(c) = self
            .contacts
            .iter()
            .find(|c| digits_phone(&c.phone) == digits)
        {
            return Some(c.id.clone());
        }
        let id = self.next(0);
        self.contacts.push(CrmContact {
            id: id.clone(),
            phone: format!("+{digits}"),
            name: sval(user.get("name")),
            last_name: sval(user.get("last_name")),
        });
        Some(id)
    }
}
