// The language of a portal's operator notices (Open Lines chats): as Bitrix24 says, or chosen
// here. The service speaks Russian and English; Bitrix24's other languages go by the fallback rule.

import { Group, NativeSelect } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconLanguage } from '@tabler/icons-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ApiError } from '../api/client';
import type { Portal, PortalLanguage } from '../api/types';
import { intlLocale } from '../i18n';
import { primaryTag, supportedLanguage } from '../i18n/languages';

/** What the service speaks to operators. */
export const PORTAL_LANGUAGES: PortalLanguage[] = ['ru', 'en'];

/** The language a portal gets from Bitrix24's id (`ua` → `en`, `kz` → `ru`): the product's rule. */
export function followed(fromBitrix24: string | null | undefined): PortalLanguage {
  return (supportedLanguage(fromBitrix24, PORTAL_LANGUAGES) as PortalLanguage | null) ?? 'en';
}

/** Bitrix24's language id as a name in the app's language (`ua` → Ukrainian / украинский). */
export function bitrix24LanguageName(id: string): string {
  try {
    return new Intl.DisplayNames([intlLocale()], { type: 'language' }).of(primaryTag(id)) ?? id;
  } catch {
    return id;
  }
}

export function PortalLanguageSelect({ portal, writable, onChanged }: { portal: Portal; writable: boolean; onChanged: (p: Portal) => void }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  if (portal.language === undefined) return null;
  const raw = portal.language_from_bitrix24 ?? null;
  const auto = followed(raw);
  const native = (lang: string) => t('language.name', { lng: lang });
  const autoLabel = raw
    ? t('portals.language.auto', { bitrix24: bitrix24LanguageName(raw), language: native(auto) })
    : t('portals.language.autoUnknown', { language: native(auto) });
  const change = async (value: string) => {
    const language = value === 'auto' ? null : (value as PortalLanguage);
    setBusy(true);
    try {
      onChanged(await api.setPortalLanguage(portal.id, language));
    } catch (e) {
      notifications.show({ color: 'red', title: t('portals.language.notSaved'), message: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Group gap="xs" wrap="nowrap" mt="sm" align="flex-end" data-testid="portal-language-row">
      <IconLanguage size={18} color="var(--mantine-color-dimmed)" style={{ flexShrink: 0, marginBottom: 6 }} />
      <NativeSelect
        size="xs"
        label={t('portals.language.label')}
        description={t('portals.language.hint')}
        style={{ flex: 1, minWidth: 0 }}
        value={portal.language_override ?? 'auto'}
        disabled={!writable || busy}
        onChange={(e) => void change(e.currentTarget.value)}
        data-testid="portal-language"
        data-language={portal.language}
        data={[
          { value: 'auto', label: autoLabel },
          ...PORTAL_LANGUAGES.map((l) => ({ value: l, label: native(l) })),
        ]}
      />
    </Group>
  );
}
