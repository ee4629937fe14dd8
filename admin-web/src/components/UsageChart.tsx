// The daily usage chart (loaded with the usage page only: the charting code is large).

import '@mantine/charts/styles.css';
import { BarChart } from '@mantine/charts';
import { useTranslation } from 'react-i18next';
import type { UsageDay } from '../api/types';
import { formatDay } from '../lib/format';

export default function UsageChart({ days }: { days: UsageDay[] }) {
  const { t } = useTranslation();
  const data = days.map((d) => ({ day: formatDay(d.date, 'short'), inbound: d.inbound, outbound: d.outbound, media: d.media }));
  return (
    <BarChart
      h={280}
      data={data}
      dataKey="day"
      type="stacked"
      withLegend
      legendProps={{ verticalAlign: 'bottom', height: 40 }}
      tickLine="y"
      gridAxis="x"
      series={[
        { name: 'inbound', label: t('usage.fromCustomers'), color: 'teal.6' },
        { name: 'outbound', label: t('usage.fromOperators'), color: 'indigo.5' },
      ]}
      xAxisProps={{ interval: 'preserveStartEnd', minTickGap: 8 }}
      yAxisProps={{ allowDecimals: false, width: 40 }}
      data-testid="usage-chart"
    />
  );
}
