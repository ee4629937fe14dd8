// The daily usage chart (loaded with the usage page only: the charting code is large).

import '@mantine/charts/styles.css';
import { BarChart } from '@mantine/charts';
import type { UsageDay } from '../api/types';

export default function UsageChart({ days }: { days: UsageDay[] }) {
  const data = days.map((d) => ({ day: d.date.slice(5), inbound: d.inbound, outbound: d.outbound, media: d.media }));
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
        { name: 'inbound', label: 'From customers', color: 'teal.6' },
        { name: 'outbound', label: 'From operators', color: 'indigo.5' },
      ]}
      xAxisProps={{ interval: 'preserveStartEnd', minTickGap: 8 }}
      yAxisProps={{ allowDecimals: false, width: 40 }}
      data-testid="usage-chart"
    />
  );
}
