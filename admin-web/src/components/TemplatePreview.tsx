// A message template as the customer's phone shows it: header, body and footer in a bubble, the
// buttons under it, every variable marked (its example value on hover).

import { Box, Group, Stack, Text, Tooltip } from '@mantine/core';
import { IconArrowBackUp, IconCopy, IconExternalLink, IconFileText, IconMapPin, IconPhone, IconPhoto, IconVideo } from '@tabler/icons-react';
import { Fragment, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { TemplateButton, TemplateComponent } from '../api/types';
import i18n from '../i18n';
import { exampleValues, splitTemplateText } from '../lib/templates';

const CHAT_BG = '#efeae2';
const LINK = '#027eb5';

function Variable({ name, example }: { name: string; example?: string }) {
  const { t } = useTranslation();
  return (
    <Tooltip label={t('templates.example', { example })} disabled={example === undefined} inline withArrow>
      <span
        data-testid="template-var"
        data-name={name}
        data-example={example}
        style={{
          display: 'inline-block',
          padding: '0 5px',
          margin: '0 1px',
          borderRadius: 4,
          lineHeight: 1.45,
          background: 'var(--mantine-color-blue-0)',
          border: '1px solid var(--mantine-color-blue-3)',
          color: 'var(--mantine-color-blue-8)',
          fontFamily: 'var(--mantine-font-family-monospace)',
          fontSize: '0.85em',
          fontWeight: 500,
          cursor: example === undefined ? 'default' : 'help',
          whiteSpace: 'nowrap',
        }}
      >
        {`{{${name}}}`}
      </span>
    </Tooltip>
  );
}

/** `text` with each variable as a chip. */
export function TemplateText({ text, examples = {} }: { text: string; examples?: Record<string, string> }) {
  return (
    <>
      {splitTemplateText(text).map((p, i) =>
        p.kind === 'text' ? <Fragment key={i}>{p.text}</Fragment> : <Variable key={i} name={p.name} example={examples[p.name]} />,
      )}
    </>
  );
}

const MEDIA: Record<string, { icon: ReactNode; label: () => string }> = {
  IMAGE: { icon: <IconPhoto size={22} />, label: () => i18n.t('templates.media.IMAGE') },
  VIDEO: { icon: <IconVideo size={22} />, label: () => i18n.t('templates.media.VIDEO') },
  DOCUMENT: { icon: <IconFileText size={22} />, label: () => i18n.t('templates.media.DOCUMENT') },
  LOCATION: { icon: <IconMapPin size={22} />, label: () => i18n.t('templates.media.LOCATION') },
};

function Header({ c }: { c: TemplateComponent }) {
  const { t } = useTranslation();
  const format = (c.format ?? 'TEXT').toUpperCase();
  if (format === 'TEXT') {
    return (
      <Text fw={700} size="sm" mb={4} data-testid="template-header">
        <TemplateText text={c.text ?? ''} examples={exampleValues(c)} />
      </Text>
    );
  }
  const m = MEDIA[format] ?? { icon: <IconFileText size={22} />, label: () => format.toLowerCase() };
  return (
    <Group
      justify="center"
      gap={6}
      h={72}
      mb={6}
      c="dimmed"
      data-testid="template-header"
      style={{ background: 'var(--mantine-color-gray-1)', borderRadius: 6 }}
    >
      {m.icon}
      <Text size="xs">{t('templates.mediaWhenSent', { media: m.label() })}</Text>
    </Group>
  );
}

function buttonIcon(type: string): ReactNode {
  switch (type.toUpperCase()) {
    case 'URL':
      return <IconExternalLink size={15} />;
    case 'PHONE_NUMBER':
      return <IconPhone size={15} />;
    case 'COPY_CODE':
    case 'OTP':
      return <IconCopy size={15} />;
    default:
      return <IconArrowBackUp size={15} />;
  }
}

function Button({ b }: { b: TemplateButton }) {
  const target = b.url ?? b.phone_number;
  return (
    <Box
      py={7}
      px="sm"
      data-testid="template-button"
      data-type={b.type}
      title={target}
      style={{ background: 'white', borderRadius: 8, boxShadow: '0 1px 0.5px rgba(11,20,26,.13)' }}
    >
      <Group gap={6} justify="center" wrap="nowrap" c={LINK}>
        {buttonIcon(b.type)}
        <Text size="sm" fw={500} truncate>
          {b.text || b.type}
        </Text>
      </Group>
      {b.url && (
        <Text size="xs" c="dimmed" ta="center" truncate>
          <TemplateText text={b.url} />
        </Text>
      )}
    </Box>
  );
}

export function TemplatePreview({ components }: { components: TemplateComponent[] }) {
  const { t } = useTranslation();
  const of = (type: string) => components.filter((c) => c?.type?.toUpperCase() === type);
  const header = of('HEADER')[0];
  const body = of('BODY')[0];
  const footer = of('FOOTER')[0];
  const buttons = of('BUTTONS').flatMap((c) => c.buttons ?? []);
  return (
    <Box p="sm" style={{ background: CHAT_BG, borderRadius: 8 }} data-testid="template-preview">
      <Stack gap={4} maw={360}>
        <Box px={9} pt={6} pb={8} style={{ background: 'white', borderRadius: 8, boxShadow: '0 1px 0.5px rgba(11,20,26,.13)' }}>
          {header && <Header c={header} />}
          {body ? (
            <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }} data-testid="template-body">
              <TemplateText text={body.text ?? ''} examples={exampleValues(body)} />
            </Text>
          ) : (
            <Text size="sm" c="dimmed" fs="italic">
              {t('templates.noBody')}
            </Text>
          )}
          {footer?.text && (
            <Text size="xs" c="dimmed" mt={4} data-testid="template-footer">
              {footer.text}
            </Text>
          )}
        </Box>
        {buttons.map((b, i) => (
          <Button key={i} b={b} />
        ))}
      </Stack>
    </Box>
  );
}
