import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { ComboBox, Input, Label, ListBox, ListBoxItem, Popover, Text } from 'react-aria-components';
import { graphql } from '../graphql';
import { OpenWhenSuggested } from './OpenWhenSuggested';

const SuggestProducts = graphql(`
  query SuggestProducts($prefix: String!) {
    suggest(prefix: $prefix, limit: 12) {
      kind
      text
      displayName
      product { status }
    }
  }
`);

interface Option {
  id: string;
  displayName: string | null | undefined;
}

/**
 * A text field for a product's qualified name, with the `suggest` typeahead: only PUBLISHED
 * products other than `exclude` are offered; any typed text is kept (the server judges it).
 */
export function ProductPicker({
  label,
  description,
  value,
  onChange,
  exclude,
  testId,
}: {
  label: string;
  description?: string;
  value: string;
  onChange: (v: string) => void;
  exclude?: string;
  testId: string;
}) {
  const [prefix, setPrefix] = useState(value.trim());
  useEffect(() => {
    const t = setTimeout(() => setPrefix(value.trim()), 150);
    return () => clearTimeout(t);
  }, [value]);
  const [{ data }] = useQuery({ query: SuggestProducts, variables: { prefix }, pause: prefix.length < 2 });
  const current = prefix.length >= 2 && prefix === value.trim();
  const options: Option[] = current
    ? (data?.suggest ?? [])
        .filter((s) => s.kind === 'PRODUCT' && s.product?.status === 'PUBLISHED' && s.text !== exclude && s.text !== value.trim())
        .map((s) => ({ id: s.text, displayName: s.displayName }))
    : [];

  return (
    <ComboBox
      className="combo picker"
      inputValue={value}
      onInputChange={onChange}
      onSelectionChange={(key) => {
        if (key != null) onChange(String(key));
      }}
      allowsCustomValue
      menuTrigger="input"
      items={options}
    >
      <Label>{label}</Label>
      <OpenWhenSuggested count={options.length} text={value} inputTestId={testId} />
      <Input className="input" data-testid={testId} placeholder="e.g. orders.order-events" autoComplete="off" spellCheck={false} />
      {description && (
        <Text slot="description" className="muted small">
          {description}
        </Text>
      )}
      <Popover className="popover" placement="bottom start">
        <ListBox className="listbox">
          {(o: Option) => (
            <ListBoxItem id={o.id} textValue={o.id} className="listbox-item">
              <span>{o.id}</span>
              {o.displayName && <span className="muted"> — {o.displayName}</span>}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </ComboBox>
  );
}
