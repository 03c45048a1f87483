-- Lists columns of the loaded tables that bench/sql/load.sql does not know about: they were
-- added after the loader was written and got their default (or NULL). Empty output: the
-- loader fills every column of the applied schema.
WITH known(table_name, column_name) AS (
  SELECT 'customers', unnest(ARRAY[
    'id','tenant_id','location_id','first_name','last_name','company_name','display_name',
    'email','phone','phone_search','search_text','name_search','address','lead_source','tags',
    'assigned_to','portal_user_id','estimated_value_minor','currency','notes','active','stage',
    'stage_changed_at','merged_into','created_by','created_at','updated_at','version','search'])
  UNION ALL
  SELECT 'customer_stage_history', unnest(ARRAY[
    'id','tenant_id','customer_id','from_stage','to_stage','reason','changed_by','changed_at'])
  UNION ALL
  SELECT 'quotes', unnest(ARRAY[
    'id','tenant_id','customer_id','quote_group_id','number','revision','status','currency',
    'tax_rate_bp','subtotal_minor','tax_minor','total_minor','optional_minor','cost_minor',
    'valid_until','notes','terms','created_by','approved_by','approved_at',
    'sent_at','viewed_at','accepted_at','accepted_by','rejected_at','rejection_reason',
    'expired_at','superseded_by','created_at','updated_at','version'])
  UNION ALL
  SELECT 'quote_items', unnest(ARRAY[
    'id','tenant_id','quote_id','description','quantity','unit_price_minor','unit_cost_minor',
    'category','optional','sort_order','line_total_minor'])
  UNION ALL
  SELECT 'sales_activities', unnest(ARRAY[
    'id','tenant_id','customer_id','lead_id','owner_id','kind','subject','description',
    'outcome','next_action','duration_minutes','occurred_at','follow_up_at',
    'follow_up_task_id','created_at','updated_at','version'])
  UNION ALL
  SELECT 'sales_settings', unnest(ARRAY[
    'tenant_id','currency','tax_rate_bp','quote_approval_required','quote_validity_days',
    'phone_country_code','next_quote_number','updated_at','version'])
)
SELECT 'WARNING: column ' || c.table_name || '.' || c.column_name
       || ' is not filled by bench/sql/load.sql (default: '
       || coalesce(c.column_default, 'NULL') || ', nullable: ' || c.is_nullable || ')'
  FROM information_schema.columns c
  LEFT JOIN known k USING (table_name, column_name)
 WHERE c.table_schema = 'public'
   AND c.table_name IN (SELECT DISTINCT table_name FROM known)
   AND k.column_name IS NULL
 ORDER BY c.table_name, c.ordinal_position;
