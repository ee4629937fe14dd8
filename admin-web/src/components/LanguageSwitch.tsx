// The language switcher (the header, the sign-in page, the sandbox): every language with a
// catalogue, each named in itself; the choice is remembered (../i18n chooseLanguage).

import { Button, Menu } from '@mantine/core';
import { IconCheck, IconLanguage } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { chooseLanguage, currentLanguage, LANGUAGES } from '../i18n';

export function LanguageSwitch() {
  const { t } = useTranslation();
  const now = currentLanguage();
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <Button
          variant="subtle"
          color="gray"
          size="compact-sm"
          leftSection={<IconLanguage size={16} />}
          aria-label={t('language.choose')}
          data-testid="language-switch"
          data-language={now}
        >
          {now.toUpperCase()}
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>{t('language.choose')}</Menu.Label>
        {LANGUAGES.map((lang) => (
          <Menu.Item
            key={lang}
            lang={lang}
            onClick={() => void chooseLanguage(lang)}
            rightSection={lang === now ? <IconCheck size={14} /> : null}
            data-testid={`language-${lang}`}
          >
            {t('language.name', { lng: lang })}
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}
